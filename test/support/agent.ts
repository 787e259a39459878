import type { TestApp } from './harness.js';
import { systemActor } from '../../src/auth/actor.js';

/** An operator agent talking to the REST API with its API key. */
export function agent(api: TestApp, secret: string) {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api.url}/api/v1${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
  };
  return {
    status: (body: unknown) => call('POST', '/operator/status', body),
    heartbeat: (body: unknown) => call('POST', '/operator/heartbeat', body),
    register: (body: unknown) => call('POST', '/operator/register', body),
    services: (nodeId: string) => call('GET', `/operator/services?nodeId=${encodeURIComponent(nodeId)}`),
    backup: (body: unknown) => call('POST', '/backup/report', body),
  };
}

export async function newAgentKey(api: TestApp, nodeId?: string): Promise<string> {
  return (await api.app.auth.apiKeys.create({ name: `agent ${nodeId ?? 'any'}`, nodeId: nodeId ?? null }, systemActor('test'))).secret;
}

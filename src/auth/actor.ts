import type { Principal } from './roles.js';

export const AUDIT_ACTOR_TYPES = ['USER', 'API_KEY', 'SYSTEM'] as const;
export type AuditActorType = (typeof AUDIT_ACTOR_TYPES)[number];

/**
 * Who made a change and from where. Adapters build it from the caller (`actorOf`); services
 * take it as a parameter and hand it to `record`. System work names itself (`systemActor`).
 */
export interface AuditActor {
  type: AuditActorType;
  /** User id, API key id, or the name of the system job or command. */
  id: string | null;
  ip?: string | null;
  requestId?: string | null;
}

/** The caller of a GraphQL operation or REST request (both carry these three things). */
export function actorOf(caller: { principal?: Principal; ip?: string | null; requestId?: string | null }): AuditActor {
  const p = caller.principal;
  const where = { ip: caller.ip ?? null, requestId: caller.requestId ?? null };
  if (p?.kind === 'user') return { type: 'USER', id: p.userId, ...where };
  if (p?.kind === 'apiKey') return { type: 'API_KEY', id: p.keyId, ...where };
  return { type: 'SYSTEM', id: 'anonymous', ...where };
}

/** Opsgraph itself: a scheduled job, the first-start bootstrap, a server-side CLI command. */
export const systemActor = (name: string): AuditActor => ({ type: 'SYSTEM', id: name, ip: null, requestId: null });

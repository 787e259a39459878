import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphQLObjectType } from 'graphql';
import { createTestEnv, type TestApp, type TestEnv } from '../support/harness.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
let env: TestEnv;
let api: TestApp;

beforeAll(async () => {
  env = await createTestEnv();
  api = await env.startApp({ role: 'api' });
});
afterAll(() => env.cleanup());

/** What the headings of docs/api.md name: `METHOD /path` for a route, `Type.field` for a GraphQL root field. */
async function documented(): Promise<Set<string>> {
  const text = await readFile(path.join(root, 'docs/api.md'), 'utf8');
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    if (!/^#{2,6} /.test(line)) continue;
    for (const [, code] of line.matchAll(/`([^`]+)`/g)) {
      if (/^(GET|POST|PUT|PATCH|DELETE) \//.test(code!) || /^(Query|Mutation|Subscription)\.\w+$/.test(code!)) names.add(code!);
    }
  }
  return names;
}

describe('docs/api.md', () => {
  it('has a heading for every REST route and every GraphQL root field, and none for anything that does not exist', async () => {
    const actual = new Set<string>();
    for (const { mount, routes } of api.app.routes) {
      for (const r of routes) actual.add(`${r.method.toUpperCase()} ${mount === '/' ? '' : mount}${r.path}`);
    }
    for (const type of [api.app.schema.getQueryType(), api.app.schema.getMutationType(), api.app.schema.getSubscriptionType()]) {
      for (const field of Object.keys((type as GraphQLObjectType).getFields())) actual.add(`${type!.name}.${field}`);
    }
    const docs = await documented();
    expect([...actual].filter((n) => !docs.has(n)).sort(), 'undocumented').toEqual([]);
    expect([...docs].filter((n) => !actual.has(n)).sort(), 'documented but not served').toEqual([]);
  });

  it('the README and docs never point outside the repository', async () => {
    for (const file of ['README.md', 'docs/api.md', 'docs/operations.md', 'docs/architecture.md']) {
      const text = await readFile(path.join(root, file), 'utf8');
      expect(text, file).not.toMatch(/\.\.\/shared/);
    }
  });
});

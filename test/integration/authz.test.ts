import {
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
} from 'graphql';
import { getMetadataStorage } from 'type-graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modules } from '../../src/app.js';
import { buildOpsSchema, rootFieldsWithoutAccess } from '../../src/graphql/schema.js';
import { bearer, createTestEnv, tokenFor, type TestApp, type TestEnv } from '../support/harness.js';

/**
 * Generated from the schema and the route tables, not from a hand list: every
 * protected root field and route refuses an anonymous caller, and each role
 * gets exactly the fields its level allows.
 */
const schema = await buildOpsSchema(modules);
const RANK = ['VIEWER', 'OPERATOR', 'ADMIN'] as const;
type Level = (typeof RANK)[number] | 'PUBLIC';

/** The access decisions api.md asks for; a new root field must be added here on purpose. */
const CONTRACT: Record<string, Level> = {
  'Query.readiness': 'PUBLIC',
  'Query.healthStatus': 'VIEWER',
  'Query.healthHistory': 'VIEWER',
  'Query.healthConfig': 'VIEWER',
  'Mutation.runHealthCheck': 'OPERATOR',
  'Mutation.updateHealthConfig': 'ADMIN',
  'Mutation.login': 'PUBLIC',
  'Mutation.refreshToken': 'PUBLIC',
  'Mutation.logout': 'PUBLIC',
  'Query.me': 'VIEWER',
  'Mutation.changePassword': 'VIEWER',
  'Subscription.opsEvents': 'VIEWER',
  'Subscription.metricUpdated': 'VIEWER',
  'Query.users': 'ADMIN',
  'Mutation.createUser': 'ADMIN',
  'Mutation.updateUser': 'ADMIN',
  'Query.apiKeys': 'ADMIN',
  'Mutation.createApiKey': 'ADMIN',
  'Mutation.revokeApiKey': 'ADMIN',
  'Query.securityEvents': 'ADMIN',
  'Query.slaGroups': 'VIEWER',
  'Query.slaGroup': 'VIEWER',
  'Query.services': 'VIEWER',
  'Query.service': 'VIEWER',
  'Query.nodes': 'VIEWER',
  'Subscription.serviceStatusChanged': 'VIEWER',
  'Query.slaSnapshotTrend': 'VIEWER',
  'Query.slaTrendData': 'VIEWER',
  'Query.slaDashboardStats': 'VIEWER',
  'Mutation.updateSlaGroup': 'ADMIN',
  'Mutation.deleteSlaGroup': 'ADMIN',
  'Query.incidents': 'VIEWER',
  'Subscription.slaIncident': 'VIEWER',
  'Subscription.slaAlert': 'VIEWER',
  'Query.auditLog': 'ADMIN',
  'Mutation.verifyAuditChain': 'ADMIN',
  'Query.opsStatus': 'VIEWER',
  'Query.runbooks': 'VIEWER',
  'Query.runbookRuns': 'VIEWER',
  'Query.runbookRun': 'VIEWER',
  'Mutation.executeRunbook': 'OPERATOR',
  'Query.license': 'VIEWER',
  'Query.licenseActivations': 'ADMIN',
  'Mutation.activateLicense': 'ADMIN',
  'Mutation.setLicensePublicKey': 'ADMIN',
  'Subscription.licenseUpdated': 'VIEWER',
  'Query.tickets': 'VIEWER',
  'Query.ticket': 'VIEWER',
  'Mutation.createTicket': 'OPERATOR',
  'Mutation.updateTicket': 'OPERATOR',
  'Mutation.deleteTicket': 'OPERATOR',
  'Query.backups': 'VIEWER',
  'Query.backup': 'VIEWER',
  'Query.backupStats': 'VIEWER',
  'Mutation.createBackup': 'OPERATOR',
  'Mutation.verifyBackup': 'OPERATOR',
  'Mutation.restoreBackup': 'OPERATOR',
  'Mutation.deleteBackup': 'OPERATOR',
  'Mutation.addTicketComment': 'OPERATOR',
  'Subscription.ticketCreated': 'VIEWER',
  'Subscription.ticketUpdated': 'VIEWER',
  'Subscription.ticketDeleted': 'VIEWER',
  'Query.metrics': 'VIEWER',
  'Query.metricsSnapshot': 'VIEWER',
  'Query.metricSeries': 'VIEWER',
  'Query.metricCollectors': 'VIEWER',
  'Query.metricsStats': 'VIEWER',
  'Mutation.recordMetrics': 'OPERATOR',
  'Mutation.recordEvent': 'OPERATOR',
  'Mutation.updateCollector': 'ADMIN',
  'Query.alertRules': 'VIEWER',
  'Query.alertRule': 'VIEWER',
  'Query.alerts': 'VIEWER',
  'Query.alertNotifications': 'VIEWER',
  'Query.alertingConfig': 'VIEWER',
  'Query.notificationChannels': 'VIEWER',
  'Mutation.createAlertRule': 'ADMIN',
  'Mutation.updateAlertRule': 'ADMIN',
  'Mutation.deleteAlertRule': 'ADMIN',
  'Mutation.silenceAlertRule': 'OPERATOR',
  'Mutation.acknowledgeAlert': 'OPERATOR',
  'Mutation.resolveAlert': 'OPERATOR',
  'Mutation.createAlert': 'OPERATOR',
  'Mutation.createNotificationChannel': 'ADMIN',
  'Mutation.testNotificationChannel': 'ADMIN',
  'Mutation.updateAlertingConfig': 'ADMIN',
  'Subscription.alertChanged': 'VIEWER',
};

function declaredAccess(): Map<string, Level> {
  const storage = getMetadataStorage();
  const out = new Map<string, Level>();
  const kinds = [
    ['Query', storage.queries],
    ['Mutation', storage.mutations],
    ['Subscription', storage.subscriptions],
  ] as const;
  for (const [root, handlers] of kinds) {
    for (const h of handlers) {
      const auth = storage.authorizedFields.find((a) => a.target === h.target && a.fieldName === h.methodName);
      if (auth) out.set(`${root}.${h.schemaName}`, auth.roles[0] as Level);
    }
  }
  return out;
}

/** A value that passes GraphQL coercion for `type` (validation of content comes after authorization). */
function sample(type: GraphQLInputType): string {
  const inner = getNullableType(type);
  if (isListType(inner)) return `[${sample(inner.ofType)}]`;
  if (isEnumType(inner)) return inner.getValues()[0]!.name;
  if (isInputObjectType(inner)) {
    const required = Object.values(inner.getFields()).filter((f) => isNonNullType(f.type));
    return `{ ${required.map((f) => `${f.name}: ${sample(f.type)}`).join(', ')} }`;
  }
  if (isScalarType(inner)) {
    switch (inner.name) {
      case 'Int':
      case 'Float':
        return '1';
      case 'Boolean':
        return 'true';
      case 'ID':
        return '"00000000-0000-0000-0000-000000000000"';
      case 'DateTimeISO':
        return '"2026-01-01T00:00:00.000Z"';
      case 'JSON':
        return '{}';
      default:
        return '"x"';
    }
  }
  throw new Error(`no sample for ${String(inner)}`);
}

function documentFor(root: 'query' | 'mutation', field: GraphQLField<unknown, unknown>): string {
  const args = field.args.filter((a) => isNonNullType(a.type)).map((a) => `${a.name}: ${sample(a.type)}`);
  const selection = isObjectType(getNamedType(field.type)) ? ' { __typename }' : '';
  return `${root} { ${field.name}${args.length ? `(${args.join(', ')})` : ''}${selection} }`;
}

const rootFields = (['query', 'mutation'] as const).flatMap((root) => {
  const type = (root === 'query' ? schema.getQueryType() : schema.getMutationType()) as GraphQLObjectType | null | undefined;
  return Object.values(type?.getFields() ?? {}).map((f) => ({ root, key: `${type!.name}.${f.name}`, field: f }));
});

let env: TestEnv;
let api: TestApp;
beforeAll(async () => {
  env = await createTestEnv();
  // createBackup answers at once with the queued record (no worker runs here).
  api = await env.startApp({ role: 'api', overrides: { BACKUP_WAIT_SECONDS: '0', RATE_LIMIT_BACKUP_OPS: '1000' } });
});
afterAll(() => env.cleanup());

async function call(document: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${api.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query: document }) });
  const body = (await res.json()) as { errors?: { extensions?: { code?: string } }[] };
  return { status: res.status, codes: (body.errors ?? []).map((e) => e.extensions?.code) };
}

describe('access decisions', () => {
  it('every root field declares exactly one access level, and it is the one api.md asks for', () => {
    expect(rootFieldsWithoutAccess(modules.flatMap((m) => m.resolvers ?? []))).toEqual([]);
    const declared = Object.fromEntries(declaredAccess());
    const inSchema = [...rootFields.map((f) => f.key), ...Object.keys(schema.getSubscriptionType()?.getFields() ?? {}).map((n) => `Subscription.${n}`)].sort();
    expect(Object.keys(CONTRACT).sort()).toEqual(inSchema);
    for (const key of inSchema) expect([key, declared[key]]).toEqual([key, CONTRACT[key]]);
  });

  it.each(rootFields.filter((f) => CONTRACT[f.key] !== 'PUBLIC').map((f) => [f.key, f] as const))('%s refuses an anonymous caller with UNAUTHENTICATED', async (_key, f) => {
    const r = await call(documentFor(f.root, f.field));
    expect(r.codes).toContain('UNAUTHENTICATED');
    expect(r.codes).not.toContain('INTERNAL_SERVER_ERROR');
  });

  it('each role reaches exactly the fields of its level and is FORBIDDEN the rest', async () => {
    const tokens = Object.fromEntries(await Promise.all(RANK.map(async (r) => [r, await tokenFor(api, r)] as const)));
    for (const f of rootFields) {
      const required = CONTRACT[f.key]!;
      if (required === 'PUBLIC' || f.key === 'Mutation.logout') continue;
      for (const role of RANK) {
        const r = await call(documentFor(f.root, f.field), bearer(tokens[role]!));
        const allowed = RANK.indexOf(role) >= RANK.indexOf(required as (typeof RANK)[number]);
        expect([f.key, role, r.codes.includes('FORBIDDEN')]).toEqual([f.key, role, !allowed]);
        expect([f.key, role, r.codes.includes('UNAUTHENTICATED')]).toEqual([f.key, role, false]);
        expect(r.codes).not.toContain('INTERNAL_SERVER_ERROR');
      }
    }
  });

  it('every REST route that is not public refuses an anonymous caller with 401', async () => {
    for (const { mount, routes } of api.app.routes) {
      for (const route of routes) {
        expect(['PUBLIC', 'AGENT', ...RANK]).toContain(route.access);
        if (route.access === 'PUBLIC') continue;
        const path = `${mount === '/' ? '' : mount}${route.path.replace(/:(\w+)/g, 'x')}`;
        const res = await fetch(`${api.url}${path}`, { method: route.method.toUpperCase(), headers: { 'content-type': 'application/json' }, body: route.method === 'get' ? undefined : '{}' });
        expect([path, res.status]).toEqual([path, 401]);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('ERR_1003');
      }
    }
  });
});

import type { Redis } from 'ioredis';
import type { Clock } from '../infra/clock.js';
import type { Logger } from '../infra/logger.js';
import type { Database } from '../infra/prisma.js';
import { AppError } from '../lib/errors.js';
import { assertUuid } from '../lib/ids.js';
import { clientKey } from '../lib/ip.js';
import type { AuditActor } from './actor.js';
import type { AuditRecorder } from '../infra/audit-recorder.js';
import type { SecurityLog } from '../infra/security-log.js';
import { createLocalOnce, type RedisFallbacks } from '../infra/redis-fallbacks.js';
import { API_KEY_SCOPES } from './guards.js';
import type { Principal } from './roles.js';
import { apiKeyMatches, newApiKey, parseApiKey } from './tokens.js';

export interface ApiKeyRecord {
  id: string;
  name: string;
  prefix: string;
  nodeId: string | null;
  scopes: string[];
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const PUBLIC_FIELDS = { id: true, name: true, prefix: true, nodeId: true, scopes: true, createdAt: true, lastUsedAt: true, revokedAt: true } as const;

/**
 * Verified keys are remembered for this long, so an agent's request does not cost a database
 * read; revoking a key takes effect at once on the instance that revoked it and within this
 * time on the others.
 */
const VERIFIED_TTL_MS = 5_000;

type KeyRow = { id: string; name: string; nodeId: string | null; scopes: string[]; secretHash: string; revokedAt: Date | null };

/** API keys for agents and backup jobs; the secret exists only in the answer to `create`. */
export function createApiKeys(deps: { db: Database; redis: Redis; prefix: string; clock: Clock; logger: Logger; security: SecurityLog; audit: AuditRecorder; fallbacks: RedisFallbacks }) {
  const verified = new Map<string, { row: KeyRow; until: number }>();
  const touchedHere = createLocalOnce(60_000);

  async function lookup(prefix: string): Promise<KeyRow | null> {
    const hit = verified.get(prefix);
    if (hit && hit.until > Date.now()) return hit.row;
    const row = await deps.db.apiKey.findUnique({
      where: { prefix },
      select: { id: true, name: true, nodeId: true, scopes: true, secretHash: true, revokedAt: true },
    });
    if (row && !row.revokedAt) verified.set(prefix, { row, until: Date.now() + VERIFIED_TTL_MS });
    else verified.delete(prefix);
    return row;
  }

  /**
   * `lastUsedAt` moves at most once a minute per key, so verifying a key is a read, not a write.
   * The minute is kept in Redis, across instances; this process remembers its own, so most requests
   * do not ask Redis at all. Not awaited by the request. While Redis does not answer, the process's
   * own minute decides: the column still moves, at most once a minute per instance.
   */
  async function touch(id: string): Promise<void> {
    if (!touchedHere.first(id)) return;
    try {
      const first = await deps.fallbacks.attempt('apiKeyUse', async () => (await deps.redis.set(`${deps.prefix}:apikey:used:${id}`, '1', 'EX', 60, 'NX')) === 'OK', () => true);
      if (first) await deps.db.apiKey.update({ where: { id }, data: { lastUsedAt: deps.clock.now() } });
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message }, 'could not record API key use');
    }
  }

  return {
    async create(
      input: { name: string; nodeId?: string | null; scopes?: string[] | null; createdById?: string | null },
      actor: AuditActor,
    ): Promise<{ apiKey: ApiKeyRecord; secret: string }> {
      const unknown = (input.scopes ?? []).filter((s) => !(API_KEY_SCOPES as readonly string[]).includes(s));
      if (unknown.length) throw new AppError('BAD_USER_INPUT', `unknown scope(s): ${unknown.join(', ')}; known: ${API_KEY_SCOPES.join(', ')}`, { field: 'scopes' });
      const key = newApiKey();
      const apiKey = await deps.db.$transaction(async (tx) => {
        const created = await tx.apiKey.create({
          data: { name: input.name, nodeId: input.nodeId ?? null, scopes: input.scopes ?? [], prefix: key.prefix, secretHash: key.hash, createdById: input.createdById ?? null, createdAt: deps.clock.now() },
          select: PUBLIC_FIELDS,
        });
        await deps.audit.record(tx, actor, { action: 'apikey.create', resourceType: 'api_key', resourceId: created.id, after: created });
        return created;
      });
      return { apiKey, secret: key.secret };
    },

    list(): Promise<ApiKeyRecord[]> {
      return deps.db.apiKey.findMany({ select: PUBLIC_FIELDS, orderBy: { createdAt: 'desc' } });
    },

    async revoke(id: string, actor: AuditActor): Promise<boolean> {
      assertUuid(id);
      await deps.db.$transaction(async (tx) => {
        const before = await tx.apiKey.findUnique({ where: { id }, select: PUBLIC_FIELDS });
        if (!before) throw new AppError('NOT_FOUND', `no API key with id ${id}`, { field: 'id' });
        const res = await tx.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: deps.clock.now() } });
        // Revoking a revoked key changes nothing, so it is not a new audit entry.
        if (res.count === 0) return;
        const after = await tx.apiKey.findUniqueOrThrow({ where: { id }, select: PUBLIC_FIELDS });
        await deps.audit.record(tx, actor, { action: 'apikey.revoke', resourceType: 'api_key', resourceId: id, before, after });
      });
      for (const [prefix, entry] of verified) if (entry.row.id === id) verified.delete(prefix);
      return true;
    },

    async verify(secret: string, ip: string | undefined): Promise<Principal> {
      const parsed = parseApiKey(secret);
      const row = parsed ? await lookup(parsed.prefix) : null;
      if (!row || row.revokedAt || !apiKeyMatches(secret, row.secretHash)) {
        const reason = !row ? 'unknown' : row.revokedAt ? 'revoked' : 'mismatch';
        await deps.security.record('api_key_rejected', { ip, actor: parsed?.prefix, details: { reason }, sampleBy: `${clientKey(ip)}:${reason}` });
        throw new AppError('UNAUTHENTICATED', 'invalid or revoked API key');
      }
      void touch(row.id);
      return { kind: 'apiKey', keyId: row.id, name: row.name, nodeId: row.nodeId, scopes: row.scopes };
    },
  };
}

export type ApiKeys = ReturnType<typeof createApiKeys>;

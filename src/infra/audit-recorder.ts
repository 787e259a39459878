import { randomUUID } from 'node:crypto';
import type { AuditActor } from '../auth/actor.js';
import type { Prisma } from '../generated/prisma/client.js';
import type { Clock } from './clock.js';
import { sqlOf, type Sql } from './sql.js';
import { entryHash, GENESIS_HASH } from '../lib/audit-chain.js';
import { redactSecrets } from '../lib/redact.js';

/** What changed. `before`/`after` are plain data; secrets in them are redacted on the way in. */
export interface AuditChange {
  /** `<resource>.<verb>`, e.g. `user.create`, `apikey.revoke`, `ticket.update`. */
  action: string;
  /** e.g. `user`, `api_key`, `service`, `ticket`, `license`. */
  resourceType: string;
  resourceId?: string | null;
  /** The resource before the change (null or absent for a creation). */
  before?: unknown;
  /** The resource after the change (null or absent for a deletion). */
  after?: unknown;
}

/** The transaction of the change: Prisma's interactive one, or the `Sql` of `inTransaction`. */
export type AuditTx = Prisma.TransactionClient | Sql;

// Any constant works; it only has to be the same in every instance (see users.service for its neighbours).
const CHAIN_LOCK = 7_314_100;
const COLUMNS = ['id', 'seq', 'at', 'actorType', 'actorId', 'action', 'resourceType', 'resourceId', 'before', 'after', 'ip', 'requestId', 'prevHash', 'hash'];
const CASTS = ['uuid', 'bigint', 'timestamptz', '"AuditActorType"', 'text', 'text', 'text', 'text', 'jsonb', 'jsonb', 'text', 'text', 'text', 'text'];

/**
 * Appends to the audit log inside the caller's transaction, so an entry exists exactly when the
 * change it describes was committed.
 *
 * Appends are serialized by a transaction-scoped advisory lock: take it, read the newest entry,
 * insert after it. The lock is held until the caller's transaction ends, so call `record` as the
 * last statement of the transaction to keep that wait short. This relies on READ COMMITTED (the
 * default): the read after the lock sees every chain entry committed before it. Should anything
 * ever append without the lock, the unique `seq` and `prevHash` make it fail instead of forking.
 */
export function createAuditRecorder(deps: { clock: Clock }) {
  return {
    async record(tx: AuditTx, actor: AuditActor, changes: AuditChange | readonly AuditChange[]): Promise<void> {
      const list = Array.isArray(changes) ? (changes as readonly AuditChange[]) : [changes as AuditChange];
      if (!list.length) return;
      const sql = sqlOf(tx);
      await sql.query(`SELECT 1 AS locked FROM pg_advisory_xact_lock($1::bigint)`, [CHAIN_LOCK]);
      const [last] = await sql.query<{ seq: string; hash: string }>(`SELECT e.seq::text AS seq, e.hash FROM "AuditEntry" e ORDER BY e.seq DESC LIMIT 1`, []);
      let seq = BigInt(last?.seq ?? 0);
      let prevHash = last?.hash ?? GENESIS_HASH;
      const at = deps.clock.now();
      const values: unknown[] = [];
      const rows: string[] = [];
      for (const change of list) {
        seq += 1n;
        const entry = {
          id: randomUUID(),
          seq: seq.toString(),
          at,
          actorType: actor.type,
          actorId: actor.id,
          action: change.action,
          resourceType: change.resourceType,
          resourceId: change.resourceId ?? null,
          before: redactSecrets(change.before),
          after: redactSecrets(change.after),
          ip: actor.ip ?? null,
          requestId: actor.requestId ?? null,
          prevHash,
        };
        const hash = entryHash(entry);
        prevHash = hash;
        const json = (v: unknown) => (v === null ? null : JSON.stringify(v));
        const row = [entry.id, entry.seq, at, entry.actorType, entry.actorId, entry.action, entry.resourceType, entry.resourceId, json(entry.before), json(entry.after), entry.ip, entry.requestId, entry.prevHash, hash];
        rows.push(`(${row.map((_, i) => `$${values.length + i + 1}::${CASTS[i]}`).join(', ')})`);
        values.push(...row);
      }
      await sql.query(`INSERT INTO "AuditEntry" (${COLUMNS.map((c) => `"${c}"`).join(', ')}) VALUES ${rows.join(', ')} RETURNING id`, values);
    },
  };
}

export type AuditRecorder = ReturnType<typeof createAuditRecorder>;

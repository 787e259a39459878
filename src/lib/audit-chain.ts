import { createHash } from 'node:crypto';

/**
 * The audit log's hash chain, as pure functions: what an entry's hash covers, and how a walk in
 * `seq` order decides where the chain breaks.
 */

/** `prevHash` of the very first entry (seq 1). */
export const GENESIS_HASH = '0'.repeat(64);

/** What an entry's hash covers: every stored column except `hash` itself. */
export interface ChainedContent {
  id: string;
  /** Decimal string: PostgreSQL bigint, beyond JavaScript's safe integers in theory. */
  seq: string;
  at: Date;
  actorType: string;
  actorId: string | null;
  action: string;
  resourceType: string;
  resourceId: string | null;
  before: unknown;
  after: unknown;
  ip: string | null;
  requestId: string | null;
  prevHash: string;
}

/**
 * JSON with object keys sorted at every level and no whitespace: JSONB does not keep key order,
 * so the same entry read back must serialize to the same bytes.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function entryHash(entry: ChainedContent): string {
  const content = {
    id: entry.id,
    seq: entry.seq,
    at: entry.at.toISOString(),
    actorType: entry.actorType,
    actorId: entry.actorId,
    action: entry.action,
    resourceType: entry.resourceType,
    resourceId: entry.resourceId,
    before: entry.before ?? null,
    after: entry.after ?? null,
    ip: entry.ip,
    requestId: entry.requestId,
    prevHash: entry.prevHash,
  };
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

/** The last entry a walk accepted. */
export interface ChainCursor {
  seq: string;
  hash: string;
}

/**
 * Whether `entry` is a sound continuation of `previous`: its own hash matches its content, and
 * it follows `previous` directly (next seq, prevHash = previous hash). The first entry of a walk
 * (`previous` null) has no stored predecessor when older entries were pruned: its prevHash is
 * taken as given, except for seq 1, which must start from the genesis hash.
 */
export function linkIsSound(previous: ChainCursor | null, entry: ChainedContent & { hash: string }): boolean {
  if (entryHash(entry) !== entry.hash) return false;
  if (!previous) return entry.seq !== '1' || entry.prevHash === GENESIS_HASH;
  return entry.prevHash === previous.hash && BigInt(entry.seq) === BigInt(previous.seq) + 1n;
}

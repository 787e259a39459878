import type pg from 'pg';
import type { Config } from '../../config.js';
import type { Logger } from '../../infra/logger.js';
import { inTransaction, sqlOf } from '../../infra/sql.js';
import { expiredPartitions, partitionsBetween, type PartitionPeriod, type PartitionRange, type Tier } from '../../lib/metric-time.js';

export type StoreLevel = 'raw' | Tier;

/**
 * The partitioned tables. Raw samples by day: a day of 10-second data for 10,000 series is ~86 M
 * rows, small enough to index and drop, and 7 days of retention are 7–8 partitions. The 1m tier by
 * ISO week (30 days: 5–6 partitions, each ~10 M rows per 1,000 series); 5m and 1h by month (90
 * days: 3–4 partitions, 730 days: ~25), so a long query touches few partitions and retention is
 * never more than one period late.
 */
export const STORE_TABLES: Record<StoreLevel, { table: string; period: PartitionPeriod; retention: keyof Config }> = {
  raw: { table: 'metric_samples', period: 'day', retention: 'METRICS_RETENTION_RAW_DAYS' },
  '1m': { table: 'metric_rollup_1m', period: 'week', retention: 'METRICS_RETENTION_1M_DAYS' },
  '5m': { table: 'metric_rollup_5m', period: 'month', retention: 'METRICS_RETENTION_5M_DAYS' },
  '1h': { table: 'metric_rollup_1h', period: 'month', retention: 'METRICS_RETENTION_1H_DAYS' },
};
export const STORE_LEVELS = Object.keys(STORE_TABLES) as StoreLevel[];

const DAY_MS = 86_400_000;
// Partition names and bounds are made by lib/metric-time.ts from dates; checked again before they enter DDL text.
const SAFE_NAME = /^metric_(samples|rollup_1m|rollup_5m|rollup_1h)_p\d{8}$/;
const SAFE_BOUND = /^\d{4}-\d{2}-\d{2}T00:00:00\.000Z$/;

export function retentionMs(config: Config, level: StoreLevel): number {
  return (config[STORE_TABLES[level].retention] as number) * DAY_MS;
}

/**
 * Creates partitions before rows need them and drops those past retention. A process remembers the
 * partitions it has seen, so the write path costs nothing when they exist; a missing one is created
 * in a short transaction of its own, before the write (its lock on the parent table is then held for
 * milliseconds, not for the whole batch), under an advisory lock so two writers never race.
 */
export function createPartitions(deps: { pool: pg.Pool; config: Config; logger: Logger }) {
  let known: Set<string> | undefined;

  async function load(): Promise<Set<string>> {
    const rows = await sqlOf(deps.pool).query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname = ANY($1::text[])`,
      [STORE_LEVELS.map((l) => STORE_TABLES[l].table)],
    );
    known = new Set(rows.map((r) => r.name));
    return known;
  }

  async function create(level: StoreLevel, p: PartitionRange): Promise<void> {
    const from = p.from.toISOString();
    const to = p.to.toISOString();
    if (!SAFE_NAME.test(p.name) || !SAFE_BOUND.test(from) || !SAFE_BOUND.test(to)) throw new Error(`refusing partition ${p.name}`);
    await inTransaction(deps.pool, async (db) => {
      await db.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`metrics-partition:${p.name}`]);
      await db.execute(`CREATE TABLE IF NOT EXISTS "${p.name}" PARTITION OF "${STORE_TABLES[level].table}" FOR VALUES FROM ('${from}') TO ('${to}')`);
    });
  }

  return {
    /** Makes sure every partition of `level` covering [fromMs, toMs] exists. */
    async ensure(level: StoreLevel, fromMs: number, toMs: number): Promise<void> {
      const { table, period } = STORE_TABLES[level];
      const have = known ?? (await load());
      for (const p of partitionsBetween(table, period, fromMs, toMs)) {
        if (have.has(p.name)) continue;
        await create(level, p);
        have.add(p.name);
      }
    },

    /** Forgets what this process knows (a partition another process dropped is then seen as missing). */
    forget(): void {
      known = undefined;
    },

    /** Creates the partitions of the next two periods of every level, and of the current one. */
    async createAhead(now: Date): Promise<void> {
      await load();
      for (const level of STORE_LEVELS) {
        const { table, period } = STORE_TABLES[level];
        const ahead = period === 'day' ? 2 * DAY_MS : period === 'week' ? 14 * DAY_MS : 62 * DAY_MS;
        for (const p of partitionsBetween(table, period, now.getTime(), now.getTime() + ahead)) if (!known!.has(p.name)) await create(level, p);
      }
      await load();
    },

    /** Drops the partitions wholly past each level's retention; answers their names. */
    async dropExpired(now: Date): Promise<string[]> {
      const have = [...(await load())];
      const dropped: string[] = [];
      for (const level of STORE_LEVELS) {
        const { table, period } = STORE_TABLES[level];
        for (const name of expiredPartitions(table, period, have, now.getTime() - retentionMs(deps.config, level))) {
          if (!SAFE_NAME.test(name)) continue;
          await sqlOf(deps.pool).execute(`DROP TABLE IF EXISTS "${name}"`);
          dropped.push(name);
        }
      }
      if (dropped.length) deps.logger.info({ dropped }, 'metrics: dropped partitions past retention');
      await load();
      return dropped;
    },

    /** Partition names per level, as PostgreSQL has them now. */
    async list(): Promise<Record<StoreLevel, string[]>> {
      const have = [...(await load())];
      return Object.fromEntries(STORE_LEVELS.map((l) => [l, have.filter((n) => n.startsWith(`${STORE_TABLES[l].table}_p`)).sort()])) as Record<StoreLevel, string[]>;
    },
  };
}

export type Partitions = ReturnType<typeof createPartitions>;

/**
 * Time arithmetic of the metrics store: rollup tiers and their buckets, the partitions of the
 * samples and tiers, relative instants (`-1h`), and which tier `auto` picks. Pure, UTC throughout.
 */

export const TIERS = ['1m', '5m', '1h'] as const;
export type Tier = (typeof TIERS)[number];
export const GRANULARITIES = ['raw', ...TIERS, 'auto'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

export const TIER_MS: Record<Tier, number> = { '1m': 60_000, '5m': 300_000, '1h': 3_600_000 };

/** `auto` picks the coarsest tier that still gives at least this many points. */
export const AUTO_MIN_POINTS = 100;

const DAY_MS = 86_400_000;

/** The start of the bucket of `stepMs` holding `ms` (buckets are aligned to the epoch, so to UTC). */
export const bucketStart = (ms: number, stepMs: number): number => Math.floor(ms / stepMs) * stepMs;

/** The tier `auto` answers for [start, end): the coarsest with ≥ AUTO_MIN_POINTS buckets, else raw samples. */
export function autoGranularity(startMs: number, endMs: number): Exclude<Granularity, 'auto'> {
  for (const tier of [...TIERS].reverse()) {
    if ((endMs - startMs) / TIER_MS[tier] >= AUTO_MIN_POINTS) return tier;
  }
  return 'raw';
}

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS } as const;

/** `-30m`, `-1h`, `-7d` (also `s` and `w`) before `now`; null when `text` is not relative. */
export function relativeInstant(text: string, now: Date): Date | null {
  const m = /^-(\d{1,7})([smhdw])$/.exec(text);
  if (!m) return null;
  return new Date(now.getTime() - Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]);
}

/** How a table is partitioned: raw samples by day, the 1m tier by ISO week, 5m and 1h by month. */
export type PartitionPeriod = 'day' | 'week' | 'month';

export interface PartitionRange {
  /** `<table>_p<yyyymmdd>`: built here from the date alone, never from input. */
  name: string;
  from: Date;
  to: Date;
}

function periodStart(ms: number, period: PartitionPeriod): Date {
  const d = new Date(bucketStart(ms, DAY_MS));
  if (period === 'week') d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  if (period === 'month') d.setUTCDate(1);
  return d;
}

function nextPeriod(from: Date, period: PartitionPeriod): Date {
  const d = new Date(from);
  if (period === 'day') d.setUTCDate(d.getUTCDate() + 1);
  else if (period === 'week') d.setUTCDate(d.getUTCDate() + 7);
  else d.setUTCMonth(d.getUTCMonth() + 1);
  return d;
}

const stamp = (d: Date) => d.toISOString().slice(0, 10).replace(/-/g, '');

/** The partition of `table` that holds instant `ms`. */
export function partitionFor(table: string, period: PartitionPeriod, ms: number): PartitionRange {
  const from = periodStart(ms, period);
  return { name: `${table}_p${stamp(from)}`, from, to: nextPeriod(from, period) };
}

/** Every partition of `table` covering [fromMs, toMs], oldest first. */
export function partitionsBetween(table: string, period: PartitionPeriod, fromMs: number, toMs: number): PartitionRange[] {
  const out: PartitionRange[] = [];
  for (let p = partitionFor(table, period, fromMs); p.from.getTime() <= toMs; p = partitionFor(table, period, p.to.getTime())) out.push(p);
  return out;
}

/** The range a partition name of `table` stands for, or null when the name is not one of ours. */
export function partitionRangeOf(table: string, period: PartitionPeriod, name: string): PartitionRange | null {
  const m = new RegExp(`^${table}_p(\\d{4})(\\d{2})(\\d{2})$`).exec(name);
  if (!m) return null;
  const from = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  const p = partitionFor(table, period, from.getTime());
  return p.name === name ? p : null;
}

/** Partitions wholly older than the retention cutoff: retention drops exactly these. */
export function expiredPartitions(table: string, period: PartitionPeriod, names: readonly string[], cutoffMs: number): string[] {
  return names.filter((n) => {
    const r = partitionRangeOf(table, period, n);
    return r !== null && r.to.getTime() <= cutoffMs;
  });
}

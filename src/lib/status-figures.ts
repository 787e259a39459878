/** Requests of one second: how many, and their durations summed. */
export interface SecondBucket {
  second: number;
  count: number;
  sumMs: number;
  /** Of those, answered with a 5xx. */
  errors: number;
}

/** What one instance reports: its per-second request buckets and its open connections. */
export interface InstanceFigures {
  buckets: readonly SecondBucket[];
  /** HTTP requests in progress plus WebSockets open; null when its report is too old to say. */
  connections: number | null;
}

export interface StatusFigures {
  requests_per_second: number;
  active_connections: number;
  avg_response_time_ms: number;
  /** How many instances' figures were added up. */
  instances: number;
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Every instance's requests in one window, added up. */
export interface WindowTotals {
  count: number;
  sumMs: number;
  errors: number;
  connections: number;
  instances: number;
}

/**
 * Adds up the buckets of the window that ends with `nowSecond` (inclusive) across every instance,
 * and the open connections of every instance that still reports.
 */
export function sumWindow(instances: readonly InstanceFigures[], nowSecond: number, windowSeconds: number): WindowTotals {
  const t: WindowTotals = { count: 0, sumMs: 0, errors: 0, connections: 0, instances: instances.length };
  for (const i of instances) {
    for (const b of i.buckets) {
      if (b.second <= nowSecond - windowSeconds || b.second > nowSecond) continue;
      t.count += b.count;
      t.sumMs += b.sumMs;
      t.errors += b.errors;
    }
    t.connections += i.connections ?? 0;
  }
  return t;
}

/** Requests per second and mean response time over the window; a quiet window answers 0 ms, not a division by zero. */
export function statusFigures(t: WindowTotals, windowSeconds: number): StatusFigures {
  return {
    requests_per_second: round(t.count / windowSeconds, 3),
    active_connections: t.connections,
    avg_response_time_ms: t.count ? round(t.sumMs / t.count, 2) : 0,
    instances: t.instances,
  };
}

/** Fewer requests than this in the window say nothing about the API's error rate. */
const MIN_REQUESTS_FOR_VERDICT = 10;

/** The API as its answers show it: degraded from 5 % of 5xx answers in the window, out from half of them. */
export function apiState(t: Pick<WindowTotals, 'count' | 'errors'>): ServiceState {
  if (t.count < MIN_REQUESTS_FOR_VERDICT) return 'operational';
  const rate = t.errors / t.count;
  return rate >= 0.5 ? 'outage' : rate >= 0.05 ? 'degraded' : 'operational';
}

/** An instance's report as stored in its Redis hash: `c:<second>` counts, `t:<second>` summed ms, `e:<second>` 5xx, `conn`, `at` (ms). */
export function parseInstanceHash(hash: Readonly<Record<string, string>>, nowMs: number, freshMs: number): InstanceFigures {
  const bySecond = new Map<number, SecondBucket>();
  const bucket = (second: number) => {
    let b = bySecond.get(second);
    if (!b) bySecond.set(second, (b = { second, count: 0, sumMs: 0, errors: 0 }));
    return b;
  };
  for (const [field, raw] of Object.entries(hash)) {
    const m = /^([cte]):(\d+)$/.exec(field);
    const value = Number(raw);
    if (!m || !Number.isFinite(value)) continue;
    const b = bucket(Number(m[2]));
    if (m[1] === 'c') b.count += value;
    else if (m[1] === 't') b.sumMs += value;
    else b.errors += value;
  }
  const at = Number(hash.at);
  const conn = Number(hash.conn);
  // Connections are a reading of now: a report older than `freshMs` (an instance that stopped) says nothing about now.
  const connections = Number.isFinite(at) && nowMs - at <= freshMs && Number.isFinite(conn) ? conn : null;
  return { buckets: [...bySecond.values()], connections };
}

/** The last seconds of one instance's own requests, kept in memory: its figures when Redis cannot be read. */
export class SecondRing {
  private readonly buckets = new Map<number, SecondBucket>();

  constructor(private readonly windowSeconds: number) {}

  add(second: number, count: number, sumMs: number, errors: number): void {
    const b = this.buckets.get(second) ?? { second, count: 0, sumMs: 0, errors: 0 };
    b.count += count;
    b.sumMs += sumMs;
    b.errors += errors;
    this.buckets.set(second, b);
  }

  /** Drops the seconds that left the window ending at `nowSecond`; answers them. */
  prune(nowSecond: number): number[] {
    const gone: number[] = [];
    for (const second of this.buckets.keys()) {
      if (second <= nowSecond - this.windowSeconds) {
        this.buckets.delete(second);
        gone.push(second);
      }
    }
    return gone;
  }

  entries(): SecondBucket[] {
    return [...this.buckets.values()].map((b) => ({ ...b }));
  }
}

export type ServiceState = 'operational' | 'degraded' | 'outage';

/** The overall status of seed 004's `/status`: without the database nothing works; anything else lacking degrades. */
export function overallStatus(services: { api: ServiceState; websocket: ServiceState; database: ServiceState; cache: ServiceState }): ServiceState {
  if (services.database === 'outage' || services.api === 'outage') return 'outage';
  return Object.values(services).every((s) => s === 'operational') ? 'operational' : 'degraded';
}

/**
 * Health verdicts: what a probe's readings mean (thresholds → status) and what a set of systems
 * means together. Pure: the probes that take the readings live in the health module.
 */

export const HEALTH_SYSTEMS = ['system', 'disk', 'api', 'websocket', 'data', 'service', 'network'] as const;
export type HealthSystem = (typeof HEALTH_SYSTEMS)[number];

export const HEALTH_STATUSES = ['healthy', 'degraded', 'unhealthy'] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

const RANK: Record<HealthStatus, number> = { healthy: 0, degraded: 1, unhealthy: 2 };

/** The worse of the statuses given; healthy when there are none. */
export function worst(statuses: Iterable<HealthStatus>): HealthStatus {
  let out: HealthStatus = 'healthy';
  for (const s of statuses) if (RANK[s] > RANK[out]) out = s;
  return out;
}

export function summarize(statuses: readonly HealthStatus[]): { total: number; healthy: number; degraded: number; unhealthy: number } {
  const out = { total: statuses.length, healthy: 0, degraded: 0, unhealthy: 0 };
  for (const s of statuses) out[s]++;
  return out;
}

/** Percentages (1–100) above which a reading counts against its system (100: never). */
export interface HealthThresholds {
  cpu: number;
  memory: number;
  disk: number;
}

/**
 * CPU over its threshold is `degraded` (a saturated CPU still serves, slowly); memory over its
 * threshold is `unhealthy` (the next allocation may fail or the OOM killer may act).
 */
export function systemVerdict(r: { cpu: number; memory: number }, t: HealthThresholds): { status: HealthStatus; over: string[] } {
  const over: string[] = [];
  const statuses: HealthStatus[] = [];
  if (r.memory > t.memory) {
    over.push(`memory ${round1(r.memory)}% > ${t.memory}%`);
    statuses.push('unhealthy');
  }
  if (r.cpu > t.cpu) {
    over.push(`CPU ${round1(r.cpu)}% > ${t.cpu}%`);
    statuses.push('degraded');
  }
  return { status: worst(statuses), over };
}

/** A filesystem above its threshold is `unhealthy`: writes (backups, logs, WAL) are about to fail. */
export function diskVerdict(usage: number, t: HealthThresholds): HealthStatus {
  return usage > t.disk ? 'unhealthy' : 'healthy';
}

/** Unreachable: unhealthy; reachable but requests wait for a pooled connection: degraded. */
export function dataVerdict(r: { reachable: boolean; poolWaiting: number }): HealthStatus {
  if (!r.reachable) return 'unhealthy';
  return r.poolWaiting > 0 ? 'degraded' : 'healthy';
}

/**
 * Redis unreachable, or a queue nobody works on (its jobs would pile up): unhealthy. Jobs that
 * failed for good within the window: degraded.
 */
export function serviceVerdict(r: { redis: boolean; queues: readonly { workers: number; failedLastHour: number }[] }): HealthStatus {
  if (!r.redis || r.queues.some((q) => q.workers === 0)) return 'unhealthy';
  return r.queues.some((q) => q.failedLastHour > 0) ? 'degraded' : 'healthy';
}

/** Every configured dependency is needed: one that is down makes the system unhealthy. */
export function networkVerdict(deps: readonly { up: boolean }[]): HealthStatus {
  return deps.every((d) => d.up) ? 'healthy' : 'unhealthy';
}

/** An HTTP dependency is up when it answers anything but a server error (a 401 or 404 still proves it runs). */
export const httpDependencyUp = (status: number): boolean => status > 0 && status < 500;

/** Busy share of CPU time between two readings of cumulative counters (any unit), as a percentage. */
export function cpuPercent(before: CpuTimes, after: CpuTimes): { cpu: number; ioWait: number | null } {
  const total = after.total - before.total;
  if (total <= 0) return { cpu: 0, ioWait: after.ioWait === null ? null : 0 };
  const idle = after.idle - before.idle;
  const io = after.ioWait === null || before.ioWait === null ? null : after.ioWait - before.ioWait;
  // iowait is time the CPU was idle waiting for I/O: it is idle time, reported on its own.
  const busy = total - idle - (io ?? 0);
  return { cpu: clampPercent((100 * busy) / total), ioWait: io === null ? null : clampPercent((100 * io) / total) };
}

/** Cumulative CPU time: all of it, the idle part (without iowait), and iowait where the OS reports it. */
export interface CpuTimes {
  total: number;
  idle: number;
  ioWait: number | null;
}

/** The aggregate `cpu` line of Linux's /proc/stat (user nice system idle iowait irq softirq steal ...; guest is inside user). */
export function parseProcStat(text: string): CpuTimes | null {
  const line = text.split('\n').find((l) => /^cpu\s/.test(l));
  if (!line) return null;
  const n = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (n.length < 4 || n.some((v) => !Number.isFinite(v))) return null;
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = n;
  return { total: user + nice + system + idle + iowait + irq + softirq + steal, idle, ioWait: n.length >= 5 ? iowait : null };
}

/** Memory in use as a percentage: what the kernel could not hand out without swapping (MemAvailable), not merely what is free. */
export function memoryPercent(totalBytes: number, availableBytes: number): number {
  if (totalBytes <= 0) return 0;
  return clampPercent((100 * (totalBytes - availableBytes)) / totalBytes);
}

/** `MemTotal` and `MemAvailable` of /proc/meminfo, in bytes; null without MemAvailable (kernels before 3.14). */
export function parseMeminfo(text: string): { total: number; available: number } | null {
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+)\\s*kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : null;
  };
  const total = kb('MemTotal');
  const available = kb('MemAvailable');
  return total !== null && available !== null ? { total, available } : null;
}

/** Used share of a filesystem as `df` computes it: used / (used + available to unprivileged users). */
export function diskPercent(s: { blocks: number; bfree: number; bavail: number }): number {
  const used = s.blocks - s.bfree;
  const usable = used + s.bavail;
  return usable > 0 ? clampPercent((100 * used) / usable) : 0;
}

/** One entry of HEALTH_DEPENDENCIES. */
export type HealthDependency = { name: string; kind: 'http'; url: string } | { name: string; kind: 'tcp'; host: string; port: number };

/**
 * Parses HEALTH_DEPENDENCIES: `name=http(s)://...` or `name=tcp://host:port`, comma-separated.
 * Throws with a message naming the entry that is wrong.
 */
export function parseDependencies(text: string): HealthDependency[] {
  const out: HealthDependency[] = [];
  const entries = text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new Error(`"${entry}": expected name=url`);
    const name = entry.slice(0, eq).trim();
    const target = entry.slice(eq + 1).trim();
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new Error(`"${name}": a name is 1 to 64 letters, digits, "_", "." or "-"`);
    if (out.some((d) => d.name === name)) throw new Error(`"${name}" is listed twice`);
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      throw new Error(`${name}: "${target}" is not a URL`);
    }
    if (url.protocol === 'http:' || url.protocol === 'https:') {
      out.push({ name, kind: 'http', url: url.toString() });
    } else if (url.protocol === 'tcp:') {
      const port = Number(url.port);
      if (!url.hostname || !Number.isInteger(port) || port < 1 || port > 65535 || (url.pathname && url.pathname !== '/') || url.search) {
        throw new Error(`${name}: expected tcp://host:port`);
      }
      // URL keeps IPv6 literals bracketed; net.connect wants them bare.
      out.push({ name, kind: 'tcp', host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port });
    } else {
      throw new Error(`${name}: only http://, https:// and tcp:// are checked`);
    }
  }
  return out;
}

/** A dependency's target as it may be shown: never the credentials a URL may carry. */
export function dependencyTarget(d: HealthDependency): string {
  if (d.kind === 'tcp') return `tcp://${d.host.includes(':') ? `[${d.host}]` : d.host}:${d.port}`;
  const u = new URL(d.url);
  u.username = '';
  u.password = '';
  return u.toString();
}

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;

/** A duration such as `30m`, `1h`, `7d` in milliseconds; null when it is not one. */
export function parseDuration(text: string): number | null {
  const m = /^(\d{1,6})(s|m|h|d|w)$/.exec(text.trim());
  if (!m) return null;
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return ms > 0 ? ms : null;
}

/**
 * A system's latest result is stale when no check has refreshed it for three intervals: the
 * scheduler (or the workers running it) stopped, and the last word may no longer be true.
 */
export const isStale = (checkedAt: Date, now: Date, intervalSeconds: number): boolean => now.getTime() - checkedAt.getTime() > 3 * intervalSeconds * 1_000;

/** `5d 3h`, `3h 12m`, `42s`: an uptime a person reads at a glance. */
export function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3_600);
  const m = Math.floor((s % 3_600) / 60);
  if (d) return h ? `${d}d ${h}h` : `${d}d`;
  if (h) return m ? `${h}h ${m}m` : `${h}h`;
  return m ? `${m}m` : `${s}s`;
}

export const round1 = (v: number): number => Math.round(v * 10) / 10;
const clampPercent = (v: number): number => Math.min(100, Math.max(0, v));

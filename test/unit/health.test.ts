import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import {
  cpuPercent,
  dataVerdict,
  dependencyTarget,
  diskPercent,
  diskVerdict,
  formatUptime,
  httpDependencyUp,
  isStale,
  memoryPercent,
  networkVerdict,
  parseDependencies,
  parseDuration,
  parseMeminfo,
  parseProcStat,
  serviceVerdict,
  summarize,
  systemVerdict,
  worst,
} from '../../src/lib/health.js';

const t = { cpu: 80, memory: 85, disk: 90 };

describe('health verdicts', () => {
  it('overall: the worst status; healthy when nothing was checked', () => {
    expect(worst([])).toBe('healthy');
    expect(worst(['healthy', 'degraded', 'healthy'])).toBe('degraded');
    expect(worst(['degraded', 'unhealthy', 'healthy'])).toBe('unhealthy');
    expect(summarize(['healthy', 'unhealthy', 'healthy'])).toEqual({ total: 3, healthy: 2, degraded: 0, unhealthy: 1 });
  });

  it('system: CPU above its threshold degrades, memory above its threshold is unhealthy; at the threshold is fine', () => {
    expect(systemVerdict({ cpu: 80, memory: 85 }, t)).toEqual({ status: 'healthy', over: [] });
    expect(systemVerdict({ cpu: 80.1, memory: 10 }, t).status).toBe('degraded');
    expect(systemVerdict({ cpu: 10, memory: 85.5 }, t)).toEqual({ status: 'unhealthy', over: ['memory 85.5% > 85%'] });
    expect(systemVerdict({ cpu: 99, memory: 99 }, t).status).toBe('unhealthy');
    // 100 switches a threshold off: a reading never exceeds it.
    expect(systemVerdict({ cpu: 100, memory: 100 }, { ...t, cpu: 100, memory: 100 }).status).toBe('healthy');
    expect(systemVerdict({ cpu: 0, memory: 2 }, { ...t, memory: 1 }).status).toBe('unhealthy');
  });

  it('disk, data, service and network', () => {
    expect(diskVerdict(90, t)).toBe('healthy');
    expect(diskVerdict(90.01, t)).toBe('unhealthy');
    expect(dataVerdict({ reachable: false, poolWaiting: 0 })).toBe('unhealthy');
    expect(dataVerdict({ reachable: true, poolWaiting: 2 })).toBe('degraded');
    expect(dataVerdict({ reachable: true, poolWaiting: 0 })).toBe('healthy');
    expect(serviceVerdict({ redis: false, queues: [] })).toBe('unhealthy');
    expect(serviceVerdict({ redis: true, queues: [{ workers: 1, failedLastHour: 0 }, { workers: 0, failedLastHour: 0 }] })).toBe('unhealthy');
    expect(serviceVerdict({ redis: true, queues: [{ workers: 2, failedLastHour: 3 }] })).toBe('degraded');
    expect(serviceVerdict({ redis: true, queues: [{ workers: 1, failedLastHour: 0 }] })).toBe('healthy');
    expect(networkVerdict([])).toBe('healthy');
    expect(networkVerdict([{ up: true }, { up: false }])).toBe('unhealthy');
    expect([200, 301, 401, 404, 499, 500, 503, 0].map(httpDependencyUp)).toEqual([true, true, true, true, true, false, false, false]);
  });

  it('staleness: three intervals without a new result', () => {
    const at = new Date('2026-02-07T14:00:00Z');
    expect(isStale(at, new Date('2026-02-07T14:03:00Z'), 60)).toBe(false);
    expect(isStale(at, new Date('2026-02-07T14:03:00.001Z'), 60)).toBe(true);
  });
});

describe('readings', () => {
  it('CPU: busy share between two /proc/stat readings, iowait counted apart from busy', () => {
    const a = parseProcStat('cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4\n')!;
    const b = parseProcStat('cpu  200 0 200 1400 200 0 0 0 0 0\n')!;
    expect(a).toEqual({ total: 1000, idle: 700, ioWait: 100 });
    // 1000 ticks between them: 200 busy, 700 idle, 100 iowait → 20 % busy, 10 % iowait.
    expect(cpuPercent(a, b)).toEqual({ cpu: 20, ioWait: 10 });
    expect(cpuPercent(a, a)).toEqual({ cpu: 0, ioWait: 0 });
    expect(cpuPercent({ total: 10, idle: 5, ioWait: null }, { total: 20, idle: 5, ioWait: null })).toEqual({ cpu: 100, ioWait: null });
    expect(parseProcStat('intr 1 2 3')).toBeNull();
  });

  it('memory: in use is what is not available, not merely what is not free', () => {
    const info = parseMeminfo('MemTotal:       16000000 kB\nMemFree:         1000000 kB\nMemAvailable:    8000000 kB\n')!;
    expect(info).toEqual({ total: 16000000 * 1024, available: 8000000 * 1024 });
    expect(memoryPercent(info.total, info.available)).toBe(50);
    expect(parseMeminfo('MemTotal: 100 kB\nMemFree: 5 kB\n')).toBeNull();
    expect(memoryPercent(0, 0)).toBe(0);
  });

  it('disk: used over what unprivileged users may use, as df counts it', () => {
    // 1000 blocks, 400 free of which 300 available to users: 600 used / 900 usable.
    expect(diskPercent({ blocks: 1000, bfree: 400, bavail: 300 })).toBeCloseTo(66.667, 2);
    expect(diskPercent({ blocks: 0, bfree: 0, bavail: 0 })).toBe(0);
  });

  it('uptime reads at a glance', () => {
    expect([42, 600, 3_700, 86_400 * 5, 86_400 * 5 + 7_300].map(formatUptime)).toEqual(['42s', '10m', '1h 1m', '5d', '5d 2h']);
  });

  it('durations for `since`', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
    expect(parseDuration('2w')).toBe(14 * 86_400_000);
    for (const bad of ['0h', '1y', 'h', '-1h', '1.5h', '', 'yesterday']) expect(parseDuration(bad), bad).toBeNull();
  });
});

describe('HEALTH_DEPENDENCIES', () => {
  it('parses http(s) and tcp entries, and shows targets without credentials', () => {
    const deps = parseDependencies(' billing=https://user:secret@billing.internal/health , mq=tcp://10.0.0.7:5672,v6=tcp://[::1]:6379,');
    expect(deps).toEqual([
      { name: 'billing', kind: 'http', url: 'https://user:secret@billing.internal/health' },
      { name: 'mq', kind: 'tcp', host: '10.0.0.7', port: 5672 },
      { name: 'v6', kind: 'tcp', host: '::1', port: 6379 },
    ]);
    expect(deps.map(dependencyTarget)).toEqual(['https://billing.internal/health', 'tcp://10.0.0.7:5672', 'tcp://[::1]:6379']);
    expect(parseDependencies('')).toEqual([]);
  });

  it('refuses what it cannot check, naming the entry, and stops the configuration from loading', () => {
    const cases: [string, RegExp][] = [
      ['nourl', /"nourl": expected name=url/],
      ['=http://x', /expected name=url/],
      ['a b=http://x', /a name is/],
      ['a=http://x,a=http://y', /"a" is listed twice/],
      ['a=not a url', /a: "not a url" is not a URL/],
      ['a=ftp://x', /only http/],
      ['a=tcp://host', /expected tcp:\/\/host:port/],
      ['a=tcp://host:99999', /not a URL|expected tcp/],
      ['a=tcp://host:80/path', /expected tcp:\/\/host:port/],
    ];
    for (const [text, message] of cases) expect(() => parseDependencies(text), text).toThrow(message);
    expect(() => loadConfig({ HEALTH_DEPENDENCIES: 'db=tcp://db' })).toThrow(/HEALTH_DEPENDENCIES: db: expected tcp:\/\/host:port/);
    expect(loadConfig({ HEALTH_DEPENDENCIES: 'db=tcp://db:5432' }).HEALTH_DEPENDENCIES).toEqual([{ name: 'db', kind: 'tcp', host: 'db', port: 5432 }]);
  });
});

/**
 * A simulated fleet for a newcomer's first minutes: two clusters of services
 * that post statuses, heartbeats and backup reports through the real REST API
 * with a real API key, with an outage early on and occasional ones after.
 */

export interface DemoOptions {
  url: string;
  apiKey: string;
  minutes: number;
  intervalSeconds: number;
  seed: number;
  signal: AbortSignal;
  log: (line: string) => void;
}

export interface DemoSummary {
  ticks: number;
  statusReports: number;
  backupReports: number;
  outages: number;
}

const NODES = ['demo/cluster-east', 'demo/cluster-west'] as const;
const GROUPS = [
  { name: 'payments', displayName: 'Payments', tier: 'critical' },
  { name: 'storefront', displayName: 'Storefront', tier: 'high' },
  { name: 'internal', displayName: 'Internal tools', tier: 'standard' },
] as const;
const SERVICES = [
  { name: 'checkout-api', slaGroup: 'payments', namespace: 'payments', replicas: 3 },
  { name: 'payment-worker', slaGroup: 'payments', namespace: 'payments', replicas: 2 },
  { name: 'web-frontend', slaGroup: 'storefront', namespace: 'web', replicas: 4 },
  { name: 'search', slaGroup: 'storefront', namespace: 'web', replicas: 2 },
  { name: 'reporting', slaGroup: 'internal', namespace: 'tools', replicas: 1 },
] as const;
const OUTAGE_KINDS = ['MAJOR_OUTAGE', 'PARTIAL_OUTAGE', 'DEGRADED'] as const;
/** The first outage comes at this tick, so even a one-minute run opens an incident. */
const FIRST_OUTAGE_TICK = 2;
const OUTAGE_CHANCE = 0.08;
const BACKUP_EVERY_TICKS = 12;

type Status = 'OPERATIONAL' | (typeof OUTAGE_KINDS)[number];
interface Outage {
  status: Status;
  untilTick: number;
}

/** A small seeded generator (mulberry32): the same --seed replays the same outages. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const serviceKey = (node: string, service: string) => `${node} ${service}`;

/** Ends outages that are over and starts new ones; returns the outages that started at this tick. */
export function advanceOutages(outages: Map<string, Outage>, tick: number, rnd: () => number): { key: string; outage: Outage }[] {
  for (const [key, o] of outages) if (o.untilTick <= tick) outages.delete(key);
  const started: { key: string; outage: Outage }[] = [];
  const start = (key: string, outage: Outage) => {
    outages.set(key, outage);
    started.push({ key, outage });
  };
  if (tick === FIRST_OUTAGE_TICK) start(serviceKey(NODES[0], 'checkout-api'), { status: 'MAJOR_OUTAGE', untilTick: tick + 3 });
  else if (tick > FIRST_OUTAGE_TICK && rnd() < OUTAGE_CHANCE) {
    const healthy = NODES.flatMap((n) => SERVICES.map((s) => serviceKey(n, s.name))).filter((k) => !outages.has(k));
    const key = healthy[Math.floor(rnd() * healthy.length)];
    if (key) start(key, { status: OUTAGE_KINDS[Math.floor(rnd() * OUTAGE_KINDS.length)]!, untilTick: tick + 2 + Math.floor(rnd() * 5) });
  }
  return started;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;
/** The demo writes into a server's fleet: by default only one on this machine. */
export function isLoopback(url: URL): boolean {
  return LOOPBACK.test(url.hostname);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

export async function runDemo(o: DemoOptions): Promise<DemoSummary> {
  const base = o.url.replace(/\/+$/, '');
  async function post(path: string, body: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${base}/api/v1${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${o.apiKey}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      throw new Error(`cannot reach ${base} (${(err as Error).message}); is the server running (npm start)?`);
    }
    const answer = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(`POST /api/v1${path} answered ${res.status}: ${JSON.stringify(answer)}`);
    return answer;
  }

  const rnd = random(o.seed);
  const outages = new Map<string, Outage>();
  const summary: DemoSummary = { ticks: 0, statusReports: 0, backupReports: 0, outages: 0 };
  const endAt = Date.now() + o.minutes * 60_000;
  o.log(`demo: ${NODES.length} nodes, ${GROUPS.length} SLA groups, ${NODES.length * SERVICES.length} services against ${base}, every ${o.intervalSeconds} s for ${o.minutes} min (Ctrl-C stops)`);

  for (let tick = 0; !o.signal.aborted && Date.now() < endAt; tick++) {
    const tickStarted = Date.now();
    for (const { key, outage } of advanceOutages(outages, tick, rnd)) {
      summary.outages++;
      o.log(`demo: ${key} → ${outage.status} for ${(outage.untilTick - tick) * o.intervalSeconds} s`);
    }
    for (const nodeId of NODES) {
      const services = SERVICES.map((s) => {
        const status = outages.get(serviceKey(nodeId, s.name))?.status ?? 'OPERATIONAL';
        const ready = status === 'MAJOR_OUTAGE' ? 0 : status === 'OPERATIONAL' ? s.replicas : Math.max(1, s.replicas - 1);
        return { name: s.name, status, replicas: s.replicas, readyReplicas: ready, slaGroup: s.slaGroup, namespace: s.namespace, workloadType: 'Deployment' };
      });
      await post('/operator/status', { nodeId, operatorVersion: 'demo-1.0', services, slaGroups: GROUPS });
      const unhealthy = services.filter((s) => s.status !== 'OPERATIONAL').length;
      await post('/operator/heartbeat', { nodeId, version: 'demo-1.0', watchedServices: services.length, healthyServices: services.length - unhealthy, unhealthyServices: unhealthy });
      summary.statusReports++;
      if (tick === 0) {
        // Declared once: these services expect a daily backup, so their freshness shows.
        for (const s of SERVICES.filter((x) => x.slaGroup !== 'internal')) {
          await post('/operator/register', { name: s.name, nodeId, namespace: s.namespace, criticality: s.slaGroup === 'payments' ? 'critical' : 'high', operations: { backup: { expected: true, maxAgeDays: 1 } } });
        }
      }
      if (tick % BACKUP_EVERY_TICKS === 0) {
        for (const group of ['payments', 'storefront']) {
          // Now and then a backup fails, as real ones do.
          const status = rnd() < 0.1 ? 'failed' : 'success';
          await post('/backup/report', { slaGroup: group, nodeId, status, sizeBytes: Math.round(2e8 + rnd() * 5e7), message: `demo nightly backup of ${group}` });
          summary.backupReports++;
          o.log(`demo: backup of ${nodeId} ${group}: ${status}`);
        }
      }
    }
    summary.ticks++;
    const down = [...outages.keys()];
    o.log(`demo: tick ${tick}: ${NODES.length} status reports and heartbeats sent${down.length ? `; not operational: ${down.join(', ')}` : '; all operational'}`);
    await sleep(Math.max(0, Math.min(o.intervalSeconds * 1_000 - (Date.now() - tickStarted), endAt - Date.now())), o.signal);
  }
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  o.log(`demo: stopped after ${plural(summary.ticks, 'tick')}: ${plural(summary.statusReports, 'status report')}, ${plural(summary.backupReports, 'backup report')}, ${plural(summary.outages, 'outage')}`);
  return summary;
}

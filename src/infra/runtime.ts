import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** What a process runs: `npm start` runs both; a deployment may split them. */
export type ProcessRole = 'api' | 'worker' | 'all';
export const PROCESS_ROLES: readonly ProcessRole[] = ['api', 'worker', 'all'];

/** One request's figures as the HTTP middleware or the GraphQL plugin saw them. */
export interface RequestSample {
  /** The route template (`/api/v1/metrics/:name`) or `graphql:<operation>`, never the raw URL. */
  route: string;
  method: string;
  status: number;
  ms: number;
}

/** Requests of one route, method and status since a consumer last took them. */
export interface RequestTally {
  route: string;
  method: string;
  status: number;
  count: number;
  sumMs: number;
  minMs: number;
  maxMs: number;
  /** Up to `RESERVOIR` request durations, sampled uniformly (for percentiles). */
  durationsMs: number[];
}

const RESERVOIR = 256;

/**
 * Request figures kept in memory per process: recording is a map update, never I/O. Each consumer
 * (the `api` collector, the status figures) takes its own tallies since its last take, so they
 * never steal from each other.
 */
export class RequestStats {
  private readonly consumers = new Map<string, Map<string, RequestTally>>();
  private readonly observers: ((sample: RequestSample) => void)[] = [];

  /** Registers a consumer; only requests recorded after this count for it. */
  consumer(name: string): { take(): RequestTally[] } {
    if (!this.consumers.has(name)) this.consumers.set(name, new Map());
    return {
      take: () => {
        const tallies = this.consumers.get(name)!;
        this.consumers.set(name, new Map());
        return [...tallies.values()];
      },
    };
  }

  /** Calls `observer` with every request recorded from now on (the Prometheus histogram). */
  observe(observer: (sample: RequestSample) => void): void {
    this.observers.push(observer);
  }

  record(sample: RequestSample): void {
    for (const observe of this.observers) observe(sample);
    if (this.consumers.size === 0) return;
    const key = `${sample.method} ${sample.route} ${sample.status}`;
    for (const tallies of this.consumers.values()) {
      let t = tallies.get(key);
      if (!t) {
        t = { route: sample.route, method: sample.method, status: sample.status, count: 0, sumMs: 0, minMs: Infinity, maxMs: -Infinity, durationsMs: [] };
        tallies.set(key, t);
      }
      t.count++;
      t.sumMs += sample.ms;
      t.minMs = Math.min(t.minMs, sample.ms);
      t.maxMs = Math.max(t.maxMs, sample.ms);
      // Reservoir sampling (algorithm R): every request has the same chance to be kept.
      if (t.durationsMs.length < RESERVOIR) t.durationsMs.push(sample.ms);
      else {
        const j = Math.floor(Math.random() * t.count);
        if (j < RESERVOIR) t.durationsMs[j] = sample.ms;
      }
    }
  }
}

/** This process: who it is, what it runs, and what it is serving right now. */
export interface ProcessRuntime {
  /** Stable for the life of the process: `<host>:<pid>:<random>`. */
  readonly instanceId: string;
  /** Set by `App.start` before any module's `onStart` runs; undefined until then. */
  role: ProcessRole | undefined;
  /** The base URL this process serves HTTP on, set once it listens; undefined in a worker-only process. */
  url: string | undefined;
  readonly requests: RequestStats;
  /** Counts an open HTTP request or WebSocket; call the returned function once when it closes. */
  open(kind: 'http' | 'ws'): () => void;
  connections(): { http: number; ws: number };
}

export function createProcessRuntime(): ProcessRuntime {
  const open = { http: 0, ws: 0 };
  return {
    instanceId: `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
    role: undefined,
    url: undefined,
    requests: new RequestStats(),
    open(kind) {
      open[kind]++;
      let closed = false;
      return () => {
        if (closed) return;
        closed = true;
        open[kind]--;
      };
    },
    connections: () => ({ ...open }),
  };
}

import { sqlOf } from '../../infra/sql.js';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import type { RedisFallbacks } from '../../infra/redis-fallbacks.js';
import { TimeoutError, withTimeout } from '../../lib/timeout.js';

export interface DependencyCheck {
  name: 'postgres' | 'redis';
  ok: boolean;
  latencyMs: number;
  error?: string;
  /** What this process did without the dependency since it started, by kind (Redis only; empty for PostgreSQL). */
  fallbacks: { name: string; count: number }[];
}

/** Client-side timeouts of the drivers: the dependency did not answer in time (pg's query_timeout, ioredis's commandTimeout). */
const DRIVER_TIMEOUTS = /^(Query read timeout|Command timed out)$/;

export interface Readiness {
  ready: boolean;
  checkedAt: Date;
  checks: DependencyCheck[];
}

/**
 * Readiness: can this instance serve? It pings PostgreSQL and Redis with a
 * timeout each, in parallel, through the same connections the app uses, so it
 * recovers by itself as soon as those connections do.
 */
export function createHealthService(deps: { pool: pg.Pool; redis: Redis; fallbacks: RedisFallbacks; clock: Clock; logger: Logger; timeoutMs: number }) {
  async function check(name: DependencyCheck['name'], ping: () => Promise<unknown>, fallbacks: () => DependencyCheck['fallbacks'] = () => []): Promise<DependencyCheck> {
    const started = performance.now();
    try {
      await withTimeout(ping(), deps.timeoutMs);
      return { name, ok: true, latencyMs: Math.round(performance.now() - started), fallbacks: fallbacks() };
    } catch (err) {
      // The driver's message names hosts and accounts: it goes to the log, the public answer says only what kind of failure.
      deps.logger.warn({ dependency: name, err: (err as Error).message }, 'readiness check failed');
      const timedOut = err instanceof TimeoutError || DRIVER_TIMEOUTS.test((err as Error).message);
      return { name, ok: false, latencyMs: Math.round(performance.now() - started), error: timedOut ? 'timeout' : 'unreachable', fallbacks: fallbacks() };
    }
  }

  // At most 2^31 - 1, the largest GraphQL Int.
  const redisFallbacks = () => Object.entries(deps.fallbacks.counts()).map(([name, count]) => ({ name, count: Math.min(count, 2 ** 31 - 1) }));

  return {
    async readiness(): Promise<Readiness> {
      const checks = await Promise.all([
        // The ping gives up on its connection at the same time as the probe, so that probes of a
        // frozen or crawling PostgreSQL do not hold the pool's connections for the query timeout.
        check('postgres', () => sqlOf(deps.pool).query({ text: 'SELECT 1', timeoutMs: deps.timeoutMs })),
        // On the command connection, so it also fails when commands time out (REDIS_COMMAND_TIMEOUT_MS).
        check('redis', () => deps.redis.ping(), redisFallbacks),
      ]);
      return { ready: checks.every((c) => c.ok), checkedAt: deps.clock.now(), checks };
    },
  };
}

export type HealthService = ReturnType<typeof createHealthService>;

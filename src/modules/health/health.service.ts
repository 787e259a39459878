import { sqlOf } from '../../infra/sql.js';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import { TimeoutError, withTimeout } from '../../lib/timeout.js';

export interface DependencyCheck {
  name: 'postgres' | 'redis';
  ok: boolean;
  latencyMs: number;
  error?: string;
}

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
export function createHealthService(deps: { pool: pg.Pool; redis: Redis; clock: Clock; logger: Logger; timeoutMs: number }) {
  async function check(name: DependencyCheck['name'], ping: () => Promise<unknown>): Promise<DependencyCheck> {
    const started = performance.now();
    try {
      await withTimeout(ping(), deps.timeoutMs);
      return { name, ok: true, latencyMs: Math.round(performance.now() - started) };
    } catch (err) {
      // The driver's message names hosts and accounts: it goes to the log, the public answer says only what kind of failure.
      deps.logger.warn({ dependency: name, err: (err as Error).message }, 'readiness check failed');
      return { name, ok: false, latencyMs: Math.round(performance.now() - started), error: err instanceof TimeoutError ? 'timeout' : 'unreachable' };
    }
  }

  return {
    async readiness(): Promise<Readiness> {
      const checks = await Promise.all([
        check('postgres', () => sqlOf(deps.pool).query('SELECT 1')),
        check('redis', () => deps.redis.ping()),
      ]);
      return { ready: checks.every((c) => c.ok), checkedAt: deps.clock.now(), checks };
    },
  };
}

export type HealthService = ReturnType<typeof createHealthService>;

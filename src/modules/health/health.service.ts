import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Clock } from '../../infra/clock.js';
import { withTimeout } from '../../lib/timeout.js';

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
export function createHealthService(deps: { pool: pg.Pool; redis: Redis; clock: Clock; timeoutMs: number }) {
  async function check(name: DependencyCheck['name'], ping: () => Promise<unknown>): Promise<DependencyCheck> {
    const started = performance.now();
    try {
      await withTimeout(ping(), deps.timeoutMs);
      return { name, ok: true, latencyMs: Math.round(performance.now() - started) };
    } catch (err) {
      return { name, ok: false, latencyMs: Math.round(performance.now() - started), error: (err as Error).message || 'unreachable' };
    }
  }

  return {
    async readiness(): Promise<Readiness> {
      const checks = await Promise.all([
        check('postgres', () => deps.pool.query('SELECT 1')),
        check('redis', () => deps.redis.ping()),
      ]);
      return { ready: checks.every((c) => c.ok), checkedAt: deps.clock.now(), checks };
    },
  };
}

export type HealthService = ReturnType<typeof createHealthService>;

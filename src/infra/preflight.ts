import { Redis } from 'ioredis';
import { maskUrl } from '../config.js';
import { TimeoutError, withTimeout } from '../lib/timeout.js';
import { ensureDatabase } from './migrations.js';

/**
 * Start-up checks that turn "cannot reach a dependency" into one line naming it,
 * its URL (password masked) and how to start it, instead of endless retries.
 */
export class DependencyUnavailableError extends Error {}

const HOW_TO_START = {
  PostgreSQL: 'start it (e.g. `pg_ctlcluster <version> main start`, or `docker compose up -d postgres`)',
  Redis: 'start it (e.g. `redis-server --daemonize yes`, or `docker compose up -d redis`)',
} as const;

function unavailable(service: keyof typeof HOW_TO_START, url: string, err: unknown): DependencyUnavailableError {
  const reason = (err as Error).message || (err as { code?: string }).code || 'no answer';
  return new DependencyUnavailableError(`${service} is not reachable at ${maskUrl(url)} (${reason}); ${HOW_TO_START[service]}`);
}

export async function probeRedis(url: string, timeoutMs: number): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs, enableOfflineQueue: false });
  redis.on('error', () => undefined);
  try {
    await withTimeout(
      redis.connect().then(() => redis.ping()),
      timeoutMs,
    );
  } catch (err) {
    throw unavailable('Redis', url, err);
  } finally {
    redis.disconnect();
  }
}

/** Reaches PostgreSQL and creates the database when it is missing. */
export async function preparePostgres(url: string, timeoutMs: number): Promise<boolean> {
  try {
    return await withTimeout(ensureDatabase(url), timeoutMs);
  } catch (err) {
    const code = (err as { code?: string }).code;
    // Refused, unknown host, timed out, or the server still starting up: it is not there (yet).
    const unreachable = err instanceof TimeoutError || ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', '57P03'].includes(code ?? '');
    throw unreachable ? unavailable('PostgreSQL', url, err) : err;
  }
}

import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../src/config.js';
import { BENCH_ADMIN } from './ingest.fleet.js';

/**
 * The configuration of a bench's server process: production mode, a port of its own, a pool the
 * bench's raw baselines match, a given secret (nothing read from or written to the database for
 * it), and limiters that still count every request in Redis (their real cost) but never refuse
 * the load. `extra` adds what one bench needs.
 */
export function benchServerConfig(databaseUrl: string, prefix: string, extra: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_MAX: '10',
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_PREFIX: prefix,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    ADMIN_EMAIL: BENCH_ADMIN.email,
    ADMIN_PASSWORD: BENCH_ADMIN.password,
    RATE_LIMIT_AGENT: String(1_000_000_000),
    ...extra,
  });
}

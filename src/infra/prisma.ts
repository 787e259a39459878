import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';
import type { Config } from '../config.js';
import type { Logger } from './logger.js';

export type Database = PrismaClient;

export interface DatabaseHandle {
  prisma: PrismaClient;
  pool: pg.Pool;
  close(): Promise<void>;
}

/**
 * One pg pool shared by Prisma and the SQL runner (infra/sql.ts). adapter-pg's
 * pool has no connect timeout and crashes the process on an idle-client error
 * unless someone listens, so both are set here.
 */
export function createDatabase(
  config: Pick<Config, 'DATABASE_URL' | 'DATABASE_POOL_MAX' | 'DATABASE_STATEMENT_TIMEOUT_MS' | 'DEPENDENCY_TIMEOUT_MS'>,
  logger: Logger,
): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: config.DATABASE_URL,
    max: config.DATABASE_POOL_MAX,
    connectionTimeoutMillis: Math.max(config.DEPENDENCY_TIMEOUT_MS, 5_000),
    idleTimeoutMillis: 30_000,
    statement_timeout: config.DATABASE_STATEMENT_TIMEOUT_MS || undefined,
  });
  pool.on('error', (err) => logger.warn({ err: err.message }, 'postgres idle client error'));
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  let closed = false;
  return {
    prisma,
    pool,
    async close() {
      if (closed) return;
      closed = true;
      await prisma.$disconnect().catch(() => undefined);
      await pool.end().catch(() => undefined);
    },
  };
}

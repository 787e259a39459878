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

/** How much longer than PostgreSQL's statement_timeout the client waits: the cancelled statement's error has that long to arrive. */
const QUERY_TIMEOUT_MARGIN_MS = 1_000;
/** How long the client waits for a statement when PostgreSQL sets no limit (DATABASE_STATEMENT_TIMEOUT_MS=0). */
const QUERY_TIMEOUT_WITHOUT_STATEMENT_TIMEOUT_MS = 60_000;

/**
 * How long the client waits for one statement before giving up on it and on its connection.
 * PostgreSQL enforces statement_timeout, but only on statements it has received: a frozen server
 * or network would never answer, so the client needs a limit of its own, a little longer.
 */
export function queryTimeoutMs(statementTimeoutMs: number): number {
  return statementTimeoutMs > 0 ? statementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS : QUERY_TIMEOUT_WITHOUT_STATEMENT_TIMEOUT_MS;
}

const QUERY_READ_TIMEOUT = 'Query read timeout';

/**
 * A pool client that drops its connection when a statement times out on the client side
 * (query_timeout). pg answers the caller but keeps waiting on the connection for the lost reply,
 * so every later statement on it would queue behind, and a release would hand it to the next
 * request. Ended instead, it fails whatever is queued at once ("Connection terminated", a ROLLBACK
 * included) and the pool discards it when it is released (pg-pool drops an ending client), whoever
 * releases it: Prisma's transactions, `inTransaction`, `pool.query`.
 */
class DroppingClient extends pg.Client {
  // One override for all of pg's call shapes: (config | text, values?, callback?).
  override query(...args: any[]): any {
    const drop = (err: unknown) => {
      if ((err as Error | null)?.message !== QUERY_READ_TIMEOUT) return;
      // Writes still queued on the socket fail (EPIPE) as it closes: an 'error' event nobody else
      // listens to while the client is checked out, which would end the process.
      this.on('error', () => undefined);
      this.end().catch(() => undefined);
    };
    const at = typeof args[2] === 'function' ? 2 : typeof args[1] === 'function' ? 1 : -1;
    if (at >= 0) {
      const callback = args[at] as (err: Error | null, res: unknown) => void;
      args[at] = (err: Error | null, res: unknown) => {
        drop(err);
        callback(err, res);
      };
    }
    const result = (super.query as (...a: unknown[]) => unknown)(...args);
    // Attached before the caller's own handlers, so the client is ending before the caller reacts.
    if (at < 0 && result instanceof Promise) result.then(undefined, drop);
    return result;
  }
}

/**
 * One pg pool shared by Prisma and the SQL runner (infra/sql.ts). adapter-pg's
 * pool has no connect timeout and crashes the process on an idle-client error
 * unless someone listens, so both are set here.
 *
 * A frozen PostgreSQL (a paused process, a black-holed network: sockets open, no answer) costs a
 * request at most the query timeout (statement_timeout + 1 s), then the connection is dropped; a
 * new connection through the same freeze gives up after the connect timeout, which is never longer.
 * The server, for its part, ends sessions left idle inside a transaction (their client frozen or
 * gone) after idle_in_transaction_session_timeout, so their locks do not outlive them for long.
 */
export function createDatabase(
  config: Pick<Config, 'DATABASE_URL' | 'DATABASE_POOL_MAX' | 'DATABASE_STATEMENT_TIMEOUT_MS' | 'DEPENDENCY_TIMEOUT_MS'>,
  logger: Logger,
): DatabaseHandle {
  const queryTimeout = queryTimeoutMs(config.DATABASE_STATEMENT_TIMEOUT_MS);
  const pool = new pg.Pool({
    connectionString: config.DATABASE_URL,
    max: config.DATABASE_POOL_MAX,
    Client: DroppingClient,
    connectionTimeoutMillis: Math.min(Math.max(config.DEPENDENCY_TIMEOUT_MS, 5_000), queryTimeout),
    idleTimeoutMillis: 30_000,
    statement_timeout: config.DATABASE_STATEMENT_TIMEOUT_MS || undefined,
    query_timeout: queryTimeout,
    // No statement of Opsgraph's leaves a transaction idle for long; one idle longer than a statement may run has lost its client.
    idle_in_transaction_session_timeout: Math.max(queryTimeout, 10_000),
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

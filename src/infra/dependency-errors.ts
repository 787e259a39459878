/**
 * Which dependency an error says is unreachable, if any: such errors answer 503
 * naming it instead of a masked 500, since the request itself was fine.
 */
const PG_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006', 'P1001', 'P1002', 'P1017']);
// "Command timed out": ioredis's commandTimeout, Redis there but not answering (see infra/redis.ts);
// "Redis not asked": it did not answer a moment ago (see infra/redis-fallbacks.ts).
const REDIS_MESSAGES = /Connection is closed|Stream isn't writeable|enableOfflineQueue|Reached the max retries per request|MaxRetriesPerRequest|Command timed out|^Redis not asked/;
// "Query read timeout": pg's query_timeout, PostgreSQL not answering in time (see infra/prisma.ts); the
// connection is then dropped, and what was queued on it fails with "Connection terminated" or "not queryable".
// "Unable to start a transaction in the given time": Prisma's maxWait (P2028), no connection or no BEGIN in time.
const PG_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Can't reach database server|the database system is (starting up|shutting down)|Query read timeout|is not queryable|Unable to start a transaction in the given time/i;

export function unavailableDependency(err: unknown): 'postgres' | 'redis' | null {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown; name?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    const message = typeof e.message === 'string' ? e.message : '';
    if (e.name === 'MaxRetriesPerRequestError' || REDIS_MESSAGES.test(message)) return 'redis';
    if ((typeof e.code === 'string' && PG_CODES.has(e.code)) || PG_MESSAGES.test(message)) return 'postgres';
  }
  return null;
}

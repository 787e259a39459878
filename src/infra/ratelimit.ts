import type { Redis } from 'ioredis';
import type { Clock } from './clock.js';
import type { RedisFallbacks } from './redis-fallbacks.js';

/**
 * Fixed one-minute windows counted in Redis, so every instance shares one budget.
 * One round trip per request (INCR and the window's expiry in one script).
 */
export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Epoch seconds at which the window resets. */
  resetAt: number;
  retryAfter: number;
  /** True for the first refused request of a window: the one worth recording. */
  firstRefusal: boolean;
}

const WINDOW_SECONDS = 60;
const SCRIPT = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`;

type CountingRedis = Redis & { opsgraphRateHit(key: string, ttlMs: string): Promise<number> };

export function createRateLimiter(deps: { redis: Redis; prefix: string; clock: Clock; fallbacks: RedisFallbacks }) {
  // A defined command goes as EVALSHA: the script text crosses the wire once, not on every request.
  if (!('opsgraphRateHit' in deps.redis)) deps.redis.defineCommand('opsgraphRateHit', { numberOfKeys: 1, lua: SCRIPT });
  const redis = deps.redis as CountingRedis;
  return {
    windowSeconds: WINDOW_SECONDS,
    async hit(bucket: string, key: string, limit: number): Promise<RateDecision> {
      const nowMs = deps.clock.now().getTime();
      const window = Math.floor(nowMs / 1000 / WINDOW_SECONDS);
      const resetAt = (window + 1) * WINDOW_SECONDS;
      const retryAfter = Math.max(1, Math.ceil(resetAt - nowMs / 1000));
      const count = await deps.fallbacks.attempt(
        'rateLimit',
        async () => Number(await redis.opsgraphRateHit(`${deps.prefix}:rl:${bucket}:${key}:${window}`, String(WINDOW_SECONDS * 1000 + 1000))),
        () => null,
      );
      // Redis down, slow or frozen: serve rather than refuse everyone (fail open), within the command
      // timeout and, for a second after a failure, without asking. Readiness reports the outage and
      // counts the requests let through (redis-fallbacks.ts).
      if (count === null) return { allowed: true, limit, remaining: limit, resetAt, retryAfter, firstRefusal: false };
      return {
        allowed: count <= limit,
        limit,
        remaining: Math.max(0, limit - count),
        resetAt,
        retryAfter,
        firstRefusal: count === limit + 1,
      };
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;

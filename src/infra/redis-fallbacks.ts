import { unavailableDependency } from './dependency-errors.js';
import type { Logger } from './logger.js';

/**
 * What this process does without Redis on a request path, and how often it had to.
 *
 * Most request-path uses of Redis can be done without for a while: the rate limiter lets
 * requests through, security-log sampling and API-key last-use throttling fall back to this
 * process's memory, and events are not delivered (as
 * when Redis is down: pub/sub keeps nothing). Each such use goes through `attempt`:
 * - it gives up after REDIS_COMMAND_TIMEOUT_MS, counted from the call (see `deadline`);
 * - after Redis failed to answer, no `attempt` asks it for a second (SKIP_MS), then one call at a
 *   time finds out whether it answers again. During a freeze requests pay the command timeout about
 *   once a second instead of each, and no backlog of commands piles up on the stalled connection;
 * - every fallback is counted by kind (`/readyz` shows the counts) and each kind is logged at warn
 *   at most every 10 s, with how many happened since the last line.
 * Uses that must not do without Redis (the login lockout) fail closed, 503 naming redis; through
 * `required` they do so at once while attempts skip Redis, instead of after the command timeout.
 */
export const REDIS_FALLBACKS = ['rateLimit', 'securitySampling', 'apiKeyUse', 'eventPublish'] as const;
export type RedisFallback = (typeof REDIS_FALLBACKS)[number];

const MESSAGES: Record<RedisFallback, string> = {
  rateLimit: 'rate limiter unavailable; allowing requests',
  securitySampling: 'security log sampling unavailable; sampling in this process only',
  apiKeyUse: 'API key use throttling unavailable; throttling in this process only',
  eventPublish: 'could not publish events',
};

/** `n`: how many uses one attempt stands for (a batch of events); `context`: more fields for its log line. */
export interface AttemptOptions {
  n?: number;
  context?: Record<string, unknown>;
}

const SKIP_MS = 1_000;
const LOG_EVERY_MS = 10_000;
/** Why an attempt did not ask Redis, in its log line; also the message of `required`'s error (dependency-errors.ts maps it to redis). */
const SKIPPED = 'Redis not asked: it failed to answer less than a second ago';

/** ioredis's own message for a command timeout, so that dependency-errors.ts maps both alike. */
const TIMED_OUT = 'Command timed out';

export function createRedisFallbacks(logger: Logger, options: { timeoutMs: number }) {
  const counts = Object.fromEntries(REDIS_FALLBACKS.map((k) => [k, 0])) as Record<RedisFallback, number>;
  const logged = new Map<RedisFallback, { at: number; count: number }>();
  // Monotonic time until which attempts do not ask Redis; 0 while it answers.
  let skipUntil = 0;
  let probing = false;

  function used(kind: RedisFallback, err: unknown, { n = 1, context }: AttemptOptions = {}): void {
    counts[kind] += n;
    const now = performance.now();
    const last = logged.get(kind);
    if (last && now - last.at < LOG_EVERY_MS) return;
    logged.set(kind, { at: now, count: counts[kind] });
    const reason = typeof err === 'string' ? err : (err as Error)?.message;
    logger.warn({ ...context, fallback: kind, err: reason, times: counts[kind] - (last?.count ?? 0), total: counts[kind] }, MESSAGES[kind]);
  }

  /**
   * The command timeout, counted from the call. ioredis starts its own when it writes a command,
   * and with auto-pipelining a command waits unwritten while the previous pipeline is in flight:
   * against a frozen Redis, that could cost it twice the timeout.
   */
  function deadline<T>(call: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(TIMED_OUT)), options.timeoutMs);
      timer.unref();
      call().then(
        (value) => (clearTimeout(timer), resolve(value)),
        (err: unknown) => (clearTimeout(timer), reject(err)),
      );
    });
  }

  function failed(err: unknown): void {
    // A script error or a wrong type says nothing about whether Redis answers.
    if (unavailableDependency(err) === 'redis') skipUntil = performance.now() + SKIP_MS;
  }

  return {
    /** Runs `call`, or answers `fallback()` when Redis does not answer (counted, logged); never throws what Redis throws. */
    async attempt<T>(kind: RedisFallback, call: () => Promise<T>, fallback: () => T, attemptOptions?: AttemptOptions): Promise<T> {
      if (skipUntil !== 0 && (probing || performance.now() < skipUntil)) {
        used(kind, SKIPPED, attemptOptions);
        return fallback();
      }
      const probe = skipUntil !== 0;
      if (probe) probing = true;
      try {
        const value = await deadline(call);
        skipUntil = 0;
        return value;
      } catch (err) {
        failed(err);
        used(kind, err, attemptOptions);
        return fallback();
      } finally {
        if (probe) probing = false;
      }
    },

    /** Runs a call that cannot do without Redis; while attempts skip Redis, it fails at once, as `call` would after the timeout. */
    async required<T>(call: () => Promise<T>): Promise<T> {
      if (skipUntil !== 0 && performance.now() < skipUntil) throw new Error(SKIPPED);
      try {
        const value = await deadline(call);
        skipUntil = 0;
        return value;
      } catch (err) {
        failed(err);
        throw err;
      }
    },

    /** How often each fallback was used since this process started. */
    counts(): Record<RedisFallback, number> {
      return { ...counts };
    },
  };
}

export type RedisFallbacks = ReturnType<typeof createRedisFallbacks>;

/**
 * "Once per window per key" in this process's memory: the stand-in for a Redis `SET NX EX`
 * while Redis does not answer, and the check that spares asking Redis when this process already
 * did within the window. Holds at most `maxKeys` keys; beyond that it answers "first" without
 * remembering, so a flood of distinct keys costs no memory.
 */
export function createLocalOnce(windowMs: number, maxKeys = 10_000) {
  const seen = new Map<string, number>();
  let swept = 0;
  return {
    /** True when `key` was not seen within the window (and remembers it from now). */
    first(key: string): boolean {
      const now = performance.now();
      const at = seen.get(key);
      if (at !== undefined && now - at < windowMs) return false;
      if (seen.size >= maxKeys && now - swept >= 1_000) {
        // Insertion order is age order: the expired keys are at the front.
        swept = now;
        for (const [k, t] of seen) {
          if (now - t < windowMs) break;
          seen.delete(k);
        }
      }
      if (seen.size >= maxKeys) return true;
      seen.delete(key);
      seen.set(key, now);
      return true;
    },
  };
}

import type { Redis } from 'ioredis';

/** How long the lock outlives its last renewal: a crashed holder keeps the deployment at most this long. */
export const LOCK_TTL_MS = 30_000;
/** Holders renew this often, well inside the TTL. */
export const LOCK_RENEW_MS = 10_000;

// Compare-and-set on the holder's token: nobody renews or frees a lock another run took after expiry.
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/**
 * The deployment's runbook lock: one mutating run at a time, across every instance and worker. A
 * Redis key with a TTL, held by the run's id, renewed while the run is waited for or running;
 * when its holders die it ends by itself within LOCK_TTL_MS.
 */
export function createRunbookLock(redis: Redis, prefix: string) {
  const key = `${prefix}:runbooks:lock`;
  return {
    /** Takes the lock for `runId`, or answers the id of the run holding it. */
    async acquire(runId: string): Promise<{ ok: true } | { ok: false; holder: string | null }> {
      const set = await redis.set(key, runId, 'PX', LOCK_TTL_MS, 'NX');
      if (set === 'OK') return { ok: true };
      return { ok: false, holder: await redis.get(key) };
    },
    /** Extends the lock if `runId` still holds it; false when it was lost. */
    async renew(runId: string): Promise<boolean> {
      return (await redis.eval(RENEW, 1, key, runId, String(LOCK_TTL_MS))) === 1;
    },
    async release(runId: string): Promise<void> {
      await redis.eval(RELEASE, 1, key, runId);
    },
    /** Renews every LOCK_RENEW_MS until the returned function is called. */
    keep(runId: string, onLost: () => void): () => void {
      const timer = setInterval(() => {
        this.renew(runId).then(
          (held) => held || onLost(),
          () => undefined, // Redis away for a moment: the TTL leaves room for the next try
        );
      }, LOCK_RENEW_MS);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}

export type RunbookLock = ReturnType<typeof createRunbookLock>;

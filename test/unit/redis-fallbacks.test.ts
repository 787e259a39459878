import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { unavailableDependency } from '../../src/infra/dependency-errors.js';
import { createLocalOnce, createRedisFallbacks } from '../../src/infra/redis-fallbacks.js';

const TIMEOUT_MS = 300;
const timedOut = () => Promise.reject(new Error('Command timed out'));
const never = () => new Promise<string>(() => undefined);

let lines: Record<string, unknown>[];
let fallbacks: ReturnType<typeof createRedisFallbacks>;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  lines = [];
  fallbacks = createRedisFallbacks(pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) }), { timeoutMs: TIMEOUT_MS });
});
afterEach(() => vi.useRealTimers());

describe('Redis fallbacks', () => {
  it("answers the call's value while Redis answers", async () => {
    expect(await fallbacks.attempt('rateLimit', async () => 7, () => null)).toBe(7);
    expect(fallbacks.counts().rateLimit).toBe(0);
  });

  it('gives up after the command timeout, counted from the call, and answers the fallback', async () => {
    const answer = fallbacks.attempt('rateLimit', never, () => 'fallback');
    await vi.advanceTimersByTimeAsync(TIMEOUT_MS);
    expect(await answer).toBe('fallback');
    expect(fallbacks.counts().rateLimit).toBe(1);
  });

  it('does not ask Redis for a second after it failed to answer, then lets one call at a time find out', async () => {
    expect(await fallbacks.attempt('rateLimit', timedOut, () => null)).toBeNull();
    const call = vi.fn(async () => 1);
    expect(await fallbacks.attempt('rateLimit', call, () => null)).toBeNull();
    expect(await fallbacks.attempt('eventPublish', call, () => undefined, { n: 3 })).toBeUndefined();
    expect(call).not.toHaveBeenCalled();
    expect(fallbacks.counts()).toMatchObject({ rateLimit: 2, eventPublish: 3 });

    await vi.advanceTimersByTimeAsync(1_000);
    let answer!: (v: number) => void;
    const probe = fallbacks.attempt('rateLimit', () => new Promise<number>((r) => (answer = r)), () => null);
    // While the probe is out, the others still do without.
    expect(await fallbacks.attempt('rateLimit', call, () => null)).toBeNull();
    answer(5);
    expect(await probe).toBe(5);
    // Answered: everyone asks again.
    expect(await fallbacks.attempt('rateLimit', call, () => null)).toBe(1);
    expect(call).toHaveBeenCalledTimes(1);
  });

  it('falls back on an error that says nothing about availability without skipping the next call', async () => {
    expect(await fallbacks.attempt('securitySampling', () => Promise.reject(new Error('WRONGTYPE')), () => true)).toBe(true);
    expect(await fallbacks.attempt('securitySampling', async () => false, () => true)).toBe(false);
  });

  it('fails a required call at once while Redis is known not to answer, with an error that names redis', async () => {
    await expect(fallbacks.required(timedOut)).rejects.toThrow('Command timed out');
    const call = vi.fn(async () => 1);
    const err = await fallbacks.required(call).catch((e: unknown) => e);
    expect(call).not.toHaveBeenCalled();
    expect(unavailableDependency(err)).toBe('redis');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await fallbacks.required(call)).toBe(1);
  });

  it('logs each kind at most every 10 s, with how many since the last line', async () => {
    for (let i = 0; i < 5; i++) await fallbacks.attempt('rateLimit', timedOut, () => null);
    await fallbacks.attempt('apiKeyUse', timedOut, () => true);
    expect(lines.map((l) => [l.fallback, l.times])).toEqual([
      ['rateLimit', 1],
      ['apiKeyUse', 1],
    ]);
    await vi.advanceTimersByTimeAsync(10_000);
    await fallbacks.attempt('rateLimit', timedOut, () => null);
    expect(lines.at(-1)).toMatchObject({ level: 40, fallback: 'rateLimit', times: 5, total: 6, msg: 'rate limiter unavailable; allowing requests' });
  });
});

describe('createLocalOnce', () => {
  it('says first once per key and window', async () => {
    const once = createLocalOnce(60_000);
    expect([once.first('a'), once.first('a'), once.first('b')]).toEqual([true, false, true]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(once.first('a')).toBe(true);
  });

  it('holds at most maxKeys keys, answering first beyond them', async () => {
    const once = createLocalOnce(60_000, 2);
    expect([once.first('a'), once.first('b'), once.first('c'), once.first('c')]).toEqual([true, true, true, true]);
    await vi.advanceTimersByTimeAsync(60_000);
    // The expired keys make room again.
    expect([once.first('c'), once.first('c')]).toEqual([true, false]);
  });
});

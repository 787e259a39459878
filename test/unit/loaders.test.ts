import { describe, expect, it } from 'vitest';
import { alignTo, createLoaderRegistry, defineLoader, provideLoader } from '../../src/graphql/loaders.js';
import { nodeStatus } from '../../src/lib/status-history.js';

const double = defineLoader<string, string | null>('test.double');
const byPair = defineLoader<{ id: string; n: number }, string>('test.pair', (k) => `${k.id}:${k.n}`);

function registry() {
  const calls: string[][] = [];
  const reg = createLoaderRegistry([
    provideLoader(double, async (ids) => {
      calls.push([...ids]);
      return alignTo(ids, new Map(ids.filter((id) => id !== 'missing').map((id) => [id, id + id])), null);
    }),
    provideLoader(byPair, async (keys) => {
      calls.push(keys.map((k) => `${k.id}:${k.n}`));
      return keys.map((k) => k.id.repeat(k.n));
    }),
  ]);
  return { reg, calls };
}

describe('loader registry', () => {
  it('batches the loads of one tick into one call of distinct keys, answered in order, null where missing', async () => {
    const { reg, calls } = registry();
    const loaders = reg.forRequest();
    expect(await Promise.all(['a', 'b', 'a', 'missing'].map((k) => loaders.load(double, k)))).toEqual(['aa', 'bb', 'aa', null]);
    expect(calls).toEqual([['a', 'b', 'missing']]);
  });

  it('with a cache a key is read once per request; without one (mutations, subscriptions) again at each tick, still once per batch', async () => {
    const cached = registry();
    const q = cached.reg.forRequest();
    await q.load(double, 'a');
    await q.load(double, 'a');
    expect(cached.calls).toEqual([['a']]);
    // Another request has loaders of its own.
    await cached.reg.forRequest().load(double, 'a');
    expect(cached.calls).toHaveLength(2);

    const fresh = registry();
    const m = fresh.reg.forRequest({ cache: false });
    await Promise.all([m.load(double, 'a'), m.load(double, 'a')]);
    await m.load(double, 'a');
    expect(fresh.calls).toEqual([['a'], ['a']]);
  });

  it('keys that are objects are the same key by keyOf', async () => {
    const { reg, calls } = registry();
    const loaders = reg.forRequest({ cache: false });
    expect(await Promise.all([loaders.load(byPair, { id: 'x', n: 2 }), loaders.load(byPair, { id: 'x', n: 2 }), loaders.load(byPair, { id: 'x', n: 3 })])).toEqual(['xx', 'xx', 'xxx']);
    expect(calls).toEqual([['x:2', 'x:3']]);
  });

  it('refuses a loader nobody provides, and two providers of one name', async () => {
    const { reg } = registry();
    expect(() => reg.forRequest().load(defineLoader<string, string>('test.nobody'), 'a')).toThrow(/no module provides the loader test.nobody/);
    expect(() => createLoaderRegistry([provideLoader(double, async () => []), provideLoader(defineLoader<string, string>('test.double'), async () => [])])).toThrow(/two modules provide/);
  });

  it('a batch answer of the wrong length fails its loads', async () => {
    const reg = createLoaderRegistry([provideLoader(double, async () => [])]);
    await expect(reg.forRequest().load(double, 'a')).rejects.toThrow(/answered 0 values for 1 keys/);
  });
});

describe('nodeStatus', () => {
  const STALE = 90_000;
  const now = 1_000_000_000;
  it('ONLINE while the newer of the last heartbeat and the last report is at most the stale limit old', () => {
    expect(nodeStatus(null, null, now, STALE)).toBe('OFFLINE');
    expect(nodeStatus(now - STALE, null, now, STALE)).toBe('ONLINE');
    expect(nodeStatus(now - STALE - 1, null, now, STALE)).toBe('OFFLINE');
    expect(nodeStatus(null, now - STALE, now, STALE)).toBe('ONLINE');
    expect(nodeStatus(null, now - STALE - 1, now, STALE)).toBe('OFFLINE');
    // Whichever came last decides.
    expect(nodeStatus(now - 10 * STALE, now - 1_000, now, STALE)).toBe('ONLINE');
    expect(nodeStatus(now - 1_000, now - 10 * STALE, now, STALE)).toBe('ONLINE');
    expect(nodeStatus(now - 2 * STALE, now - 3 * STALE, now, STALE)).toBe('OFFLINE');
    // A report stamped a little ahead of the server's clock (agents may be up to 60 s ahead) is recent.
    expect(nodeStatus(null, now + 30_000, now, STALE)).toBe('ONLINE');
  });
});

/**
 * Maps each value of an async iterator to zero or more values. `return()` reaches the source at
 * once, even while a `next()` waits on it: an async generator would hold the source (a bus
 * subscription) until its next value arrived, which for a quiet source may be never.
 */
export function flatMapIterator<T, R>(source: AsyncIterator<T>, map: (value: T) => readonly R[]): AsyncIterableIterator<R> {
  const ready: R[] = [];
  let done = false;
  const finish = async (): Promise<IteratorResult<R>> => {
    done = true;
    ready.length = 0;
    await source.return?.();
    return { value: undefined, done: true };
  };
  const it: AsyncIterableIterator<R> = {
    async next() {
      while (!ready.length) {
        if (done) return { value: undefined, done: true };
        const n = await source.next();
        if (n.done) {
          done = true;
          return { value: undefined, done: true };
        }
        if (done) break;
        ready.push(...map(n.value));
      }
      if (done) return { value: undefined, done: true };
      return { value: ready.shift()!, done: false };
    },
    return: finish,
    async throw(err: unknown) {
      await finish();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return it;
    },
  };
  return it;
}

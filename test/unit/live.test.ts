import { describe, expect, it } from 'vitest';
import { flatMapIterator } from '../../src/lib/async-iter.js';
import { metricMatcher } from '../../src/lib/metric-filter.js';
import { SendBuffer, type SendSink } from '../../src/lib/send-buffer.js';
import { apiState, overallStatus, parseInstanceHash, SecondRing, statusFigures, sumWindow } from '../../src/lib/status-figures.js';

/** A socket whose peer reads only when told to: what it was sent, and the bytes it holds meanwhile. */
class SlowSink implements SendSink {
  bufferedAmount = 0;
  readonly delivered: string[] = [];
  private pending: { message: string; done: () => void }[] = [];

  send(message: string, done: () => void): void {
    this.bufferedAmount += message.length;
    this.pending.push({ message, done });
  }

  /** The peer reads `n` messages (all when absent). */
  read(n = Infinity): void {
    while (n-- > 0 && this.pending.length) {
      const { message, done } = this.pending.shift()!;
      this.bufferedAmount -= message.length;
      this.delivered.push(message);
      done();
    }
  }
}

describe('SendBuffer', () => {
  it('bounds what a slow reader costs and gives it the newest messages when it catches up', () => {
    const sink = new SlowSink();
    const buffer = new SendBuffer(sink, { maxQueued: 100, maxBufferedBytes: 500 });
    for (let i = 0; i < 10_000; i++) buffer.push(`message-${String(i).padStart(5, '0')}`);
    // 500 bytes of 13-byte messages reached the socket; 100 wait; the rest were dropped, oldest first.
    const written = Math.ceil(500 / 13);
    expect(sink.bufferedAmount).toBe(written * 13);
    expect(buffer.queued).toBe(100);
    expect(buffer.dropped).toBe(10_000 - 100 - written);
    sink.read();
    sink.read();
    expect(buffer.queued).toBe(0);
    const after = sink.delivered.slice(written);
    expect(after).toEqual(Array.from({ length: 100 }, (_, i) => `message-${String(9_900 + i).padStart(5, '0')}`));
  });

  it('passes everything through, in order, to a reader that keeps up', () => {
    const sink = new SlowSink();
    const buffer = new SendBuffer(sink, { maxQueued: 10, maxBufferedBytes: 1_000_000 });
    for (let i = 0; i < 500; i++) {
      buffer.push(`m${i}`);
      sink.read();
    }
    expect(sink.delivered).toEqual(Array.from({ length: 500 }, (_, i) => `m${i}`));
    expect(buffer.dropped).toBe(0);
  });

  it('writes nothing after close', () => {
    const sink = new SlowSink();
    const buffer = new SendBuffer(sink, { maxQueued: 10, maxBufferedBytes: 1 });
    buffer.push('a');
    buffer.push('b');
    buffer.close();
    buffer.push('c');
    sink.read();
    expect(sink.delivered).toEqual(['a']);
  });
});

describe('metricMatcher', () => {
  const s = (name: string, collector = 'system') => ({ name, collector });
  it('matches collectors exactly and names exactly or by glob; an empty filter matches all', () => {
    expect(metricMatcher({})(s('anything', 'custom'))).toBe(true);
    expect(metricMatcher({ collectors: [], names: [] })(s('x'))).toBe(true);
    const m = metricMatcher({ collectors: ['system', 'process'], names: ['system.*', 'process.memory.rss'] });
    expect(m(s('system.cpu.usage'))).toBe(true);
    expect(m(s('process.memory.rss', 'process'))).toBe(true);
    expect(m(s('process.heap.used', 'process'))).toBe(false);
    expect(m(s('system.cpu.usage', 'custom'))).toBe(false);
    expect(metricMatcher({ names: ['{system,process}.memory.*'] })(s('process.memory.rss'))).toBe(true);
  });
});

describe('status figures', () => {
  const b = (second: number, count: number, sumMs: number, errors = 0) => ({ second, count, sumMs, errors });
  it('adds up the window of every instance, leaving out older buckets and stale connection counts', () => {
    const t = sumWindow(
      [
        { buckets: [b(100, 30, 300), b(40, 1_000, 1_000_000), b(101, 1, 1_000)], connections: 5 },
        { buckets: [b(61, 29, 290, 2)], connections: null },
      ],
      101,
      60,
    );
    expect(t).toEqual({ count: 60, sumMs: 1_590, errors: 2, connections: 5, instances: 2 });
    expect(statusFigures(t, 60)).toEqual({ requests_per_second: 1, active_connections: 5, avg_response_time_ms: 26.5, instances: 2 });
    expect(statusFigures(sumWindow([], 101, 60), 60)).toEqual({ requests_per_second: 0, active_connections: 0, avg_response_time_ms: 0, instances: 0 });
  });

  it('reads an instance hash, with connections only while its report is fresh', () => {
    const hash = { 'c:100': '4', 't:100': '10.5', 'e:100': '1', 'c:101': '2', 't:101': '3', conn: '7', at: '101500', junk: 'x' };
    expect(parseInstanceHash(hash, 102_000, 3_000)).toEqual({ buckets: [b(100, 4, 10.5, 1), b(101, 2, 3)], connections: 7 });
    expect(parseInstanceHash(hash, 105_000, 3_000).connections).toBeNull();
  });

  it('keeps one instance its last minute of seconds', () => {
    const ring = new SecondRing(60);
    ring.add(10, 1, 5, 0);
    ring.add(10, 2, 5, 1);
    ring.add(70, 1, 1, 0);
    expect(ring.prune(70)).toEqual([10]);
    expect(ring.entries()).toEqual([b(70, 1, 1)]);
  });

  it('judges the API by its 5xx share and the whole by the database first', () => {
    expect(apiState({ count: 5, errors: 5 })).toBe('operational');
    expect(apiState({ count: 100, errors: 4 })).toBe('operational');
    expect(apiState({ count: 100, errors: 5 })).toBe('degraded');
    expect(apiState({ count: 100, errors: 50 })).toBe('outage');
    const up = { api: 'operational', websocket: 'operational', database: 'operational', cache: 'operational' } as const;
    expect(overallStatus(up)).toBe('operational');
    expect(overallStatus({ ...up, cache: 'outage' })).toBe('degraded');
    expect(overallStatus({ ...up, database: 'outage' })).toBe('outage');
  });
});

describe('flatMapIterator', () => {
  it('maps each value to several, and return() reaches a source that is waiting', async () => {
    let returned = false;
    let release: ((r: IteratorResult<number>) => void) | undefined;
    const values = [1, 2];
    const source: AsyncIterator<number> = {
      next: () => (values.length ? Promise.resolve({ value: values.shift()!, done: false }) : new Promise((r) => (release = r))),
      return: async () => {
        returned = true;
        release?.({ value: undefined, done: true });
        return { value: undefined, done: true };
      },
    };
    const it = flatMapIterator(source, (n) => (n === 1 ? [] : [n, n * 10]));
    expect(await it.next()).toEqual({ value: 2, done: false });
    expect(await it.next()).toEqual({ value: 20, done: false });
    const waiting = it.next();
    await it.return!();
    expect(returned).toBe(true);
    expect(await waiting).toEqual({ value: undefined, done: true });
  });
});

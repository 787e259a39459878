import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger } from '../../src/infra/logger.js';
import { defineJob, JobRegistry, type AnyJob } from '../../src/infra/jobs.js';
import { closeRedis, createRedis } from '../../src/infra/redis.js';
import { AppError } from '../../src/lib/errors.js';
import { REDIS_URL, TEST_PREFIX } from '../support/env.js';
import { deleteRedisKeys, waitFor } from '../support/harness.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const logger = createLogger({ LOG_LEVEL: 'silent' });
const prefix = `${TEST_PREFIX}_jobs_${randomBytes(4).toString('hex')}`;
const connections: ReturnType<typeof createRedis>[] = [];
const registries: JobRegistry[] = [];

function registry(defs: AnyJob[], connectionUrl = REDIS_URL): JobRegistry {
  const connection = createRedis(connectionUrl, 'command', logger, 'test');
  connections.push(connection);
  const r = new JobRegistry({
    connection,
    workerConnection: (name) => {
      const c = createRedis(REDIS_URL, 'blocking', logger, name);
      connections.push(c);
      return c;
    },
    prefix,
    logger,
  });
  r.register(defs);
  registries.push(r);
  return r;
}

afterEach(async () => {
  await Promise.all(registries.splice(0).map((r) => r.close(2_000)));
});
afterAll(async () => {
  await Promise.all(connections.map(closeRedis));
  await deleteRedisKeys(`${prefix}:*`);
});

describe('job registry', () => {
  it('runs a job with its parsed payload on a worker', async () => {
    const seen: { n: number }[] = [];
    const add = defineJob({
      name: 'test.add',
      queue: 'test-run',
      payload: z.object({ n: z.coerce.number().int() }),
      handler: async (p) => {
        seen.push(p);
        return p.n * 2;
      },
    });
    const r = registry([add]);
    await r.startWorkers();
    const job = await r.enqueue(add, { n: 21 });
    await waitFor(() => seen.length === 1);
    expect(seen).toEqual([{ n: 21 }]);
    await waitFor(async () => (await job.getState()) === 'completed');
    expect((await r.queues.get('test-run')!.getJob(job.id!))?.returnvalue).toBe(42);
  });

  it('refuses a payload that does not match the schema, naming the field', async () => {
    const job = defineJob({ name: 'test.strict', queue: 'test-strict', payload: z.object({ serviceId: z.string().uuid() }), handler: async () => undefined });
    const r = registry([job]);
    const err = await r.enqueue(job, { serviceId: 'not-a-uuid' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('BAD_USER_INPUT');
    expect((err as AppError).details).toEqual({ field: 'serviceId' });
    expect(await r.queues.get('test-strict')!.count()).toBe(0);
  });

  it('refuses to start workers when a job has no handler, and refuses a name defined twice', async () => {
    const orphan = { name: 'test.orphan', queue: 'test-orphan', payload: z.object({}) } as unknown as AnyJob; // as a JavaScript module could declare it
    const r = registry([orphan]);
    await expect(r.startWorkers()).rejects.toThrow(/no handler for job\(s\): test\.orphan/);

    const ok = defineJob({ name: 'test.twice', queue: 'test-twice', payload: z.object({}), handler: async () => undefined });
    expect(() => registry([ok, ok])).toThrow(/defined twice/);
  });

  it('registers a repeating schedule once however many instances start', async () => {
    const tick = defineJob({
      name: 'test.tick',
      queue: 'test-sched',
      payload: z.object({ scope: z.string() }),
      handler: async () => undefined,
      schedule: { every: 60_000, payload: { scope: 'all' } },
    });
    const first = registry([tick]);
    const second = registry([tick]);
    await Promise.all([first.startWorkers(), second.startWorkers()]);
    const schedulers = await first.queues.get('test-sched')!.getJobSchedulers();
    expect(schedulers).toHaveLength(1);
    expect(schedulers[0]).toMatchObject({ key: 'test.tick', every: 60_000 });
  });

  it('fails fast when Redis is unreachable instead of queueing the job in memory', async () => {
    const proxy = TcpProxy.forUrl(REDIS_URL);
    await proxy.start();
    const job = defineJob({ name: 'test.offline', queue: 'test-offline', payload: z.object({}), handler: async () => undefined });
    const r = registry([job], proxy.rewrite(REDIS_URL));
    await r.queues.get('test-offline')!.waitUntilReady();
    await proxy.stop();
    const started = Date.now();
    await expect(r.enqueue(job, {})).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('lets a running job finish when the worker closes', async () => {
    let finished = false;
    const slow = defineJob({
      name: 'test.slow',
      queue: 'test-slow',
      payload: z.object({}),
      handler: async () => {
        await new Promise((res) => setTimeout(res, 300));
        finished = true;
      },
    });
    const r = registry([slow]);
    await r.startWorkers();
    const job = await r.enqueue(slow, {});
    await waitFor(async () => (await job.getState()) === 'active');
    await r.close(5_000);
    expect(finished).toBe(true);
  });
});

describe('schedules', () => {
  it('removes the schedule of a job this version no longer defines, keeps its own', async () => {
    const queue = `sched-${randomBytes(3).toString('hex')}`;
    const tick = defineJob({ name: `${queue}.tick`, queue, payload: z.object({}), handler: async () => undefined, schedule: { every: 60_000, payload: {} } });
    const renamed = defineJob({ name: `${queue}.old-name`, queue, payload: z.object({}), handler: async () => undefined, schedule: { every: 60_000, payload: {} } });
    // An earlier version registered both.
    const before = registry([tick, renamed]);
    await before.startWorkers();
    expect((await before.queues.get(queue)!.getJobSchedulers()).map((s) => s.key).sort()).toEqual([tick.name, renamed.name].sort());
    await before.close(2_000);
    // This version has only `tick`: the renamed job's schedule goes at start.
    const after = registry([tick]);
    await after.startWorkers();
    expect((await after.queues.get(queue)!.getJobSchedulers()).map((s) => s.key)).toEqual([tick.name]);
  });
});

import { Queue, Worker, UnrecoverableError, type Job, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import type { Logger } from './logger.js';

/**
 * A job: its name, the zod schema of its payload, the handler and its options,
 * declared by a module in its `<domain>.jobs.ts` and checked with `satisfies`.
 * Handlers must be idempotent: BullMQ delivers at least once.
 */
export interface JobDefinition<P extends z.ZodType = z.ZodType> {
  name: string;
  /** Queue it runs on; jobs of one domain usually share one. */
  queue: string;
  payload: P;
  handler: (payload: z.output<P>, ctx: { job: Job; logger: Logger }) => Promise<unknown>;
  options?: JobsOptions;
  /**
   * The job's id from its payload, when duplicates would hurt: BullMQ keeps one job per id, so the
   * same work enqueued by several instances, or again on a retry, runs once. Decided here, where
   * the job is defined, never by the caller. Ids may not contain ':'.
   */
  jobId?: (payload: z.output<P>) => string;
  /** Worker concurrency for this job's queue (the highest of its jobs wins). */
  concurrency?: number;
  /** A repeating schedule, registered with `upsertJobScheduler` so many instances may start safely. */
  schedule?: { every: number; payload: z.input<P> } | { pattern: string; payload: z.input<P> };
  /**
   * Its module sets the schedule at run time with `setSchedule` (an interval kept in the database
   * and changed without a restart); worker start leaves such a schedule as it finds it.
   */
  managedSchedule?: boolean;
}

export const defineJob = <P extends z.ZodType>(def: JobDefinition<P>): JobDefinition<P> => def;

/**
 * A periodic job without payload (sweeps, evaluations, pruning): run once at a time per tick,
 * not retried (the next tick is the retry), keeping the last `keep` outcomes for inspection.
 */
export function defineScheduledJob(def: { name: string; queue: string; everyMs: number; handler: () => Promise<unknown>; keep?: number }) {
  const keep = { count: def.keep ?? 100 };
  return defineJob({
    name: def.name,
    queue: def.queue,
    payload: z.object({}),
    handler: def.handler,
    schedule: { every: def.everyMs, payload: {} },
    options: { attempts: 1, removeOnComplete: keep, removeOnFail: keep },
  });
}

/** A job of any payload type, as modules list them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyJob = JobDefinition<any>;

const defaultJobOptions: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { age: 3_600, count: 1_000 },
  removeOnFail: { age: 7 * 24 * 3_600 },
};

export interface JobRegistryDeps {
  /** Fail-fast connection for producers. */
  connection: Redis;
  /** Makes a connection that waits out outages, one per worker. */
  workerConnection: (name: string) => Redis;
  prefix: string;
  logger: Logger;
}

export class JobRegistry {
  readonly queues = new Map<string, Queue>();
  private readonly jobs = new Map<string, AnyJob>();
  private workers: Worker[] = [];
  private workerConnections: Redis[] = [];

  constructor(private readonly deps: JobRegistryDeps) {}

  register(definitions: readonly AnyJob[]): void {
    for (const def of definitions) {
      if (this.jobs.has(def.name)) throw new Error(`job "${def.name}" is defined twice`);
      this.jobs.set(def.name, def);
      if (!this.queues.has(def.queue)) {
        const queue = new Queue(def.queue, { connection: this.deps.connection, prefix: this.deps.prefix, defaultJobOptions });
        // Connection trouble surfaces where the queue is used (enqueue rejects) and in /readyz; here it is only logged.
        queue.on('error', (err) => this.deps.logger.warn({ queue: def.queue, err: err.message }, 'queue error'));
        this.queues.set(def.queue, queue);
      }
    }
  }

  /** Refuses to run workers for jobs that nobody handles: they would pile up in Redis forever. */
  assertRunnable(): void {
    const missing = [...this.jobs.values()].filter((d) => typeof d.handler !== 'function').map((d) => d.name);
    if (missing.length) throw new Error(`no handler for job(s): ${missing.join(', ')}`);
  }

  async enqueue<P extends z.ZodType>(def: JobDefinition<P>, payload: z.input<P>, options?: JobsOptions): Promise<Job> {
    return this.enqueueByName(def.name, payload, options);
  }

  /** For callers that know a job by name only (the CLI, an operator running a scheduled job now). */
  async enqueueByName(name: string, payload: unknown, options?: JobsOptions): Promise<Job> {
    const known = this.jobs.get(name);
    if (!known) throw new Error(`job "${name}" is not registered`);
    const parsed = known.payload.safeParse(payload);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new AppError('BAD_USER_INPUT', `job ${name}: ${issue.message}`, { field: issue.path.join('.') });
    }
    const jobId = known.jobId?.(parsed.data);
    return this.queues.get(known.queue)!.add(known.name, parsed.data, { ...known.options, ...options, ...(jobId ? { jobId } : {}) });
  }

  /** Jobs waiting for a worker, per queue (not delayed ones, not the next runs of schedules): the backlog. */
  async waitingCounts(): Promise<Record<string, number>> {
    const entries = await Promise.all([...this.queues].map(async ([name, q]) => [name, await q.getWaitingCount()] as const));
    return Object.fromEntries(entries);
  }

  /**
   * Moves a repeating job to another interval at run time (a setting changed), in every process
   * at once: the schedule lives in Redis. A no-op when it already runs at that interval; answers
   * whether it changed. The definition follows, so a worker started later here keeps it too.
   */
  async reschedule(def: AnyJob, everyMs: number): Promise<boolean> {
    const known = this.jobs.get(def.name);
    if (!known?.schedule || !('every' in known.schedule)) throw new Error(`job "${def.name}" has no interval schedule`);
    known.schedule = { ...known.schedule, every: everyMs };
    const queue = this.queues.get(known.queue)!;
    const current = await queue.getJobScheduler(known.name);
    if (current?.every === everyMs) return false;
    await queue.upsertJobScheduler(known.name, { every: everyMs }, { name: known.name, data: known.payload.parse(known.schedule.payload), opts: known.options });
    return true;
  }

  /**
   * Per queue: the workers connected to it now, from any process (Redis' client list; BullMQ names
   * its worker connections), and the jobs that failed for good since `since`.
   */
  async queueHealth(since: Date): Promise<{ queue: string; workers: number; failedSince: number }[]> {
    return Promise.all(
      [...this.queues].map(async ([name, queue]) => {
        // The failed set is scored by the instant each job finished failing.
        const [workers, failedSince] = await Promise.all([queue.getWorkersCount(), this.deps.connection.zcount(queue.keys.failed!, since.getTime(), '+inf')]);
        return { queue: name, workers, failedSince };
      }),
    );
  }

  /**
   * Repeats a job with `managedSchedule` every `everyMs` from now on (replacing its schedule, in
   * Redis, for every worker), or stops repeating it when null.
   */
  async setSchedule<P extends z.ZodType>(def: JobDefinition<P>, everyMs: number | null, payload: z.input<P>): Promise<void> {
    const known = this.jobs.get(def.name);
    if (!known?.managedSchedule) throw new Error(`job "${def.name}" has no managed schedule`);
    const queue = this.queues.get(known.queue)!;
    if (everyMs === null) await queue.removeJobScheduler(def.name);
    else await queue.upsertJobScheduler(def.name, { every: everyMs }, { name: def.name, data: known.payload.parse(payload), opts: known.options });
  }

  async startWorkers(): Promise<void> {
    this.assertRunnable();
    for (const [queueName] of this.queues) {
      const defs = [...this.jobs.values()].filter((d) => d.queue === queueName);
      const concurrency = Math.max(1, ...defs.map((d) => d.concurrency ?? 1));
      const connection = this.deps.workerConnection(`worker:${queueName}`);
      this.workerConnections.push(connection);
      const worker = new Worker(queueName, (job) => this.process(job), { connection, prefix: this.deps.prefix, concurrency });
      worker.on('failed', (job, err) =>
        this.deps.logger.warn({ queue: queueName, job: job?.name, jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, 'job failed'),
      );
      worker.on('error', (err) => this.deps.logger.warn({ queue: queueName, err: err.message }, 'worker error'));
      this.workers.push(worker);
    }
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
    for (const def of this.jobs.values()) {
      if (!def.schedule) continue;
      const { payload, ...repeat } = def.schedule;
      await this.queues.get(def.queue)!.upsertJobScheduler(def.name, repeat, {
        name: def.name,
        data: def.payload.parse(payload),
        opts: def.options,
      });
    }
    // A schedule an earlier version registered for a job this one no longer has (renamed, removed)
    // would fail on every tick with "no handler": it goes, logged once.
    for (const [queueName, queue] of this.queues) {
      for (const scheduler of await queue.getJobSchedulers()) {
        const def = scheduler.key ? this.jobs.get(scheduler.key) : undefined;
        if ((def?.schedule || def?.managedSchedule) && def.queue === queueName) continue;
        await queue.removeJobScheduler(scheduler.key);
        this.deps.logger.info({ queue: queueName, scheduler: scheduler.key }, 'removed the schedule of a job this version does not have');
      }
    }
  }

  private async process(job: Job): Promise<unknown> {
    const def = this.jobs.get(job.name);
    if (!def) throw new UnrecoverableError(`no handler for job "${job.name}"`);
    const parsed = def.payload.safeParse(job.data);
    // A payload that does not parse will not parse on retry either.
    if (!parsed.success) throw new UnrecoverableError(`job ${job.name}: invalid payload: ${parsed.error.message}`);
    return def.handler(parsed.data, { job, logger: this.deps.logger.child({ job: job.name, jobId: job.id }) });
  }

  /** Lets running jobs finish within `timeoutMs`, then closes; answers how many workers and whether any had to be cut. */
  async close(timeoutMs: number): Promise<{ workers: number; forced: boolean }> {
    const workers = this.workers.length;
    const graceful = Promise.all(this.workers.map((w) => w.close()));
    const timedOut = await Promise.race([graceful.then(() => false), delay(timeoutMs).then(() => true)]);
    if (timedOut) {
      this.deps.logger.warn({ timeoutMs }, 'workers did not finish in time; closing them');
      await Promise.race([Promise.all(this.workers.map((w) => w.close(true))), delay(1_000)]);
    }
    await Promise.race([Promise.all([...this.queues.values()].map((q) => q.close())), delay(1_000)]);
    for (const c of this.workerConnections) c.disconnect();
    this.workers = [];
    this.workerConnections = [];
    return { workers, forced: timedOut };
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

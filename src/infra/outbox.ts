import type pg from 'pg';
import type { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { withTimeout } from '../lib/timeout.js';
import { eventDefinition, eventDefinitions, type EventBus, type EventDefinition, type EventInput, type EventPayload } from './events.js';
import { defineScheduledJob, type AnyJob, type JobDefinition, type JobRegistry } from './jobs.js';
import type { Logger } from './logger.js';
import { sqlOf, type SqlSource } from './sql.js';

/**
 * The transactional outbox: events that other modules act on, written in the transaction of the
 * change that raised them, so they exist exactly when the change was committed, and delivered by a
 * relay however long Redis is away.
 *
 * The bus (infra/events.ts) is live fan-out: a subscriber hears what happens while it listens, and
 * an event raised while Redis is unreachable is lost. That is right for screens, wrong for work
 * that must happen (an incident's automatic ticket). So:
 *
 * - a writer calls `outbox.add(tx, EVENT, payloads)` inside its transaction (a `pg` client of
 *   `inTransaction`, an `Sql`, or a Prisma interactive transaction); the payload is checked by the
 *   event's schema there, and an invalid one throws, rolling the change back with it. After the
 *   commit it may call `outbox.nudge()`, so the relay runs now rather than at its next tick;
 * - a module that acts on an event says so once, while it is built:
 *   `outbox.on(EVENT, job, (payload, meta) => jobPayload)`. The relay enqueues that job for every
 *   such event. The job's `jobId` must follow from the payload and `meta.id` (the outbox row), so a
 *   row delivered again (a relay that died before marking it, another relay's retry) enqueues
 *   nothing new while BullMQ still holds the job, and the handler must be idempotent for the rest;
 * - the relay (`outbox.relay`, a scheduled job every second on the workers, and `nudge()` in any
 *   process) claims pending rows in batches with `FOR UPDATE SKIP LOCKED`, leasing them for 30 s
 *   in that one statement, so two relays at once never take the same row and none holds a
 *   connection or a transaction while it talks to Redis. It enqueues each row's consumer jobs,
 *   then publishes the row on the bus (in id order), then marks the rows done in one statement.
 *   A row whose delivery fails (Redis away, a timeout) stays pending with its attempts and last
 *   error, and is tried again after a backoff (1 s, doubling, at most 30 s); a relay that dies
 *   mid-batch leaves its rows to the next relay when the lease ends. A row that can never be
 *   delivered as stored (its payload no longer parses, a consumer refuses it) is marked FAILED,
 *   logged, and kept a week for inspection; set it back to PENDING to try again. While the Redis
 *   connection is known to be down, passes are skipped without touching any row, and a pass runs
 *   as soon as it reconnects.
 *
 * Events written here are published to the bus by the relay only: the writer must not publish them
 * itself too, or live subscribers would hear them twice. Live subscribers still may hear an event
 * twice in rare cases: the relay published it and then lost PostgreSQL before marking it done, or
 * its delivery stalled past the lease and another relay took the row.
 *
 * Done rows are kept a day (`outbox.prune`, hourly), then deleted.
 *
 * Times in the table are the database's, not the application clock's: they schedule real retries,
 * and a test clock standing still must not stop delivery.
 *
 * Alerts use it as described: the error-budget and backup evaluations write `sla:alert` in the
 * transaction that moves their state, every alert transition writes `alert:changed` with the
 * change, and the alerts module's consumers (one job per row) turn them into alerts and into
 * notifications, whose deliveries are recorded in PostgreSQL and retried with their own backoff;
 * the outbox only guarantees they are enqueued.
 */

/** Which outbox row a consumer's job comes from. */
export interface OutboxMeta {
  /** The row's id (digits): unique per deployment, the base of the consumer's jobId. */
  id: string;
  createdAt: Date;
}

/** What one relay pass did. */
export interface RelayOutcome {
  delivered: number;
  /** Rows left pending after a failed attempt, for a retry after their backoff. */
  retrying: number;
  /** Rows marked FAILED: they cannot be delivered as stored. */
  failed: number;
  /** Why the pass did nothing, when it did nothing on purpose. */
  skipped?: 'not started' | 'stopped' | 'redis not ready';
}

export interface Outbox {
  /** Writes events inside the caller's transaction, each checked by its schema; throws on an invalid one. Returns how many. */
  add<D extends EventDefinition>(tx: SqlSource, def: D, payloads: EventInput<D> | readonly EventInput<D>[]): Promise<number>;
  /** Declares that every `def` event enqueues `job` with the payload `toPayload` builds; called while modules are built. */
  on<D extends EventDefinition, P extends z.ZodType>(def: D, job: JobDefinition<P>, toPayload: (payload: EventPayload<D>, meta: OutboxMeta) => z.input<P>): void;
  /** Runs a relay pass in this process soon (after the running one); cheap to call after every commit that added rows. */
  nudge(): void;
  /** Relays until nothing is left to take (or a few seconds passed); the scheduled job. */
  relay(): Promise<RelayOutcome>;
  /** Deletes rows done for more than a day and rows failed for more than a week. */
  prune(): Promise<number>;
  /** The relay and the pruning, for the job registry. */
  readonly jobs: AnyJob[];
  /** From now on relay passes run (every consumer is registered by then). */
  start(): void;
  /** No pass starts any more; resolves when the running one ended. */
  stop(): Promise<void>;
}

/** Thrown by `add` for a payload its event's schema refuses, or an event type nobody defined. */
export class OutboxPayloadError extends Error {
  override name = 'OutboxPayloadError';
}

const BATCH = 100;
/** How long claimed rows are a relay's own: far more than a batch's delivery may take (two timeouts). */
const LEASE_SECONDS = 30;
/** How long one pass keeps taking batches of a backlog before it lets the next tick continue. */
const PASS_BUDGET_MS = 5_000;
/** Longest one row's enqueue or publish may take before it counts as failed (a half-open Redis connection). */
const DELIVERY_TIMEOUT_MS = 5_000;
const MAX_BACKOFF_SECONDS = 30;
const DONE_RETENTION_HOURS = 24;
const FAILED_RETENTION_HOURS = 7 * 24;
const ERROR_LENGTH = 1_000;

interface Consumer {
  job: AnyJob;
  toPayload: (payload: unknown, meta: OutboxMeta) => unknown;
}

interface Row {
  id: string;
  type: string;
  payload: unknown;
  createdAt: Date;
  attempts: number;
}

/** What became of a claimed row: delivered, never deliverable as stored, or to be tried again. */
interface Outcome {
  id: string;
  outcome: 'DONE' | 'FAILED' | 'RETRY';
  error: string | null;
}

export function createOutbox(deps: {
  pool: pg.Pool;
  events: Pick<EventBus, 'send'>;
  jobs: Pick<JobRegistry, 'enqueue'>;
  logger: Logger;
  /** Whether the Redis connection the relay enqueues and publishes on is up; passes are skipped while it is not. */
  ready: () => boolean;
}): Outbox {
  const consumers = new Map<string, Consumer[]>();
  let started = false;
  let stopped = false;
  // One pass at a time per process; nudges arriving during a pass ask for one more after it.
  let tail: Promise<unknown> = Promise.resolve();
  let nudgeQueued = false;
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };

  const message = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, ERROR_LENGTH);

  /**
   * Delivers claimed rows: first every consumer's job, all at once (their order does not matter:
   * job ids make a second enqueue of a row a no-op, and handlers act on the current state), then
   * the live publish of each row whose jobs are in, issued in id order on the one connection, so
   * subscribers hear a batch in the order it was written.
   */
  async function deliver(rows: readonly Row[]): Promise<Outcome[]> {
    const enqueued = await Promise.all(
      rows.map(async (row): Promise<Outcome | { row: Row; def: EventDefinition }> => {
        const def = eventDefinition(row.type)!;
        const parsed = def.schema.safeParse(row.payload);
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          return { id: row.id, outcome: 'FAILED', error: `payload: ${issue.path.join('.') || '(payload)'}: ${issue.message}` };
        }
        const meta: OutboxMeta = { id: row.id, createdAt: row.createdAt };
        const jobs: { job: AnyJob; payload: unknown }[] = [];
        for (const consumer of consumers.get(row.type) ?? []) {
          try {
            jobs.push({ job: consumer.job, payload: consumer.toPayload(parsed.data, meta) });
          } catch (err) {
            return { id: row.id, outcome: 'FAILED', error: `${consumer.job.name}: ${message(err)}` };
          }
        }
        const results = await Promise.allSettled(jobs.map((j) => withTimeout(deps.jobs.enqueue(j.job, j.payload), DELIVERY_TIMEOUT_MS)));
        const refusal = results.findIndex((r) => r.status === 'rejected');
        if (refusal < 0) return { row, def };
        const err = (results[refusal] as PromiseRejectedResult).reason;
        // The job's schema refused the payload: it will refuse it on every retry too.
        const refused = results.some((r) => r.status === 'rejected' && r.reason instanceof AppError && r.reason.code === 'BAD_USER_INPUT');
        return { id: row.id, outcome: refused ? 'FAILED' : 'RETRY', error: `${jobs[refusal]!.job.name}: ${message(err)}` };
      }),
    );
    return Promise.all(
      enqueued.map(async (e): Promise<Outcome> => {
        if (!('row' in e)) return e;
        try {
          await withTimeout(deps.events.send(e.def, e.row.payload as never), DELIVERY_TIMEOUT_MS);
          return { id: e.row.id, outcome: 'DONE', error: null };
        } catch (err) {
          return { id: e.row.id, outcome: 'RETRY', error: `publish: ${message(err)}` };
        }
      }),
    );
  }

  /**
   * One batch: claim (one statement), deliver holding no connection, record (one statement).
   * Claiming takes the rows with FOR UPDATE SKIP LOCKED and leases them, moving their availableAt
   * past the lease, so no other relay takes them until they are recorded; a delivery is bounded by
   * its timeouts to well within the lease.
   */
  async function batch(types: string[]): Promise<RelayOutcome & { claimed: number }> {
    const sql = sqlOf(deps.pool);
    const claimed = await sql.query<Row>({
      name: 'opsgraph.outbox.claim',
      // Only types this version knows: another version's events wait for a relay that does.
      text: `UPDATE "OutboxEvent" o SET "availableAt" = now() + make_interval(secs => $3)
       FROM (SELECT id FROM "OutboxEvent"
             WHERE state = 'PENDING' AND "availableAt" <= now() AND type = ANY($1::text[])
             ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) c
       WHERE o.id = c.id
       RETURNING o.id::text AS id, o.type, o.payload, o."createdAt", o.attempts`,
      values: [types, BATCH, LEASE_SECONDS],
    });
    if (!claimed.length) return { claimed: 0, delivered: 0, failed: 0, retrying: 0 };
    const rows = claimed.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
    const outcomes = await deliver(rows);
    for (const o of outcomes) {
      const row = rows.find((r) => r.id === o.id)!;
      if (o.outcome === 'FAILED') deps.logger.error({ outboxId: o.id, type: row.type, err: o.error }, 'an outbox event cannot be delivered; marked FAILED');
    }
    const retrying = outcomes.filter((o) => o.outcome === 'RETRY');
    if (retrying.length) {
      const first = rows.find((r) => r.id === retrying[0]!.id)!;
      deps.logger.warn({ outboxId: first.id, type: first.type, attempts: first.attempts + 1, rows: retrying.length, err: retrying[0]!.error }, 'outbox delivery failed; it will be retried');
    }
    // The SET reads the attempts before this one: a retry 1 s after the first failure, doubling, at most 30 s.
    await sql.execute({
      name: 'opsgraph.outbox.record',
      text: `UPDATE "OutboxEvent" o SET
         state = CASE f.outcome WHEN 'DONE' THEN 'DONE'::"OutboxState" WHEN 'FAILED' THEN 'FAILED'::"OutboxState" ELSE o.state END,
         "doneAt" = CASE WHEN f.outcome = 'RETRY' THEN o."doneAt" ELSE now() END,
         attempts = o.attempts + CASE WHEN f.outcome = 'DONE' THEN 0 ELSE 1 END,
         "lastError" = CASE WHEN f.outcome = 'DONE' THEN o."lastError" ELSE f.error END,
         "availableAt" = CASE WHEN f.outcome = 'RETRY' THEN now() + make_interval(secs => LEAST($4::float8, power(2, o.attempts))) ELSE o."availableAt" END
       FROM unnest($1::bigint[], $2::text[], $3::text[]) AS f(id, outcome, error)
       WHERE o.id = f.id AND o.state = 'PENDING'`,
      values: [outcomes.map((o) => o.id), outcomes.map((o) => o.outcome), outcomes.map((o) => o.error), MAX_BACKOFF_SECONDS],
    });
    const count = (outcome: Outcome['outcome']) => outcomes.filter((o) => o.outcome === outcome).length;
    return { claimed: rows.length, delivered: count('DONE'), failed: count('FAILED'), retrying: count('RETRY') };
  }

  async function pass(): Promise<RelayOutcome> {
    const outcome: RelayOutcome = { delivered: 0, retrying: 0, failed: 0 };
    if (!started) return { ...outcome, skipped: 'not started' };
    const types = eventDefinitions().map((d) => d.type);
    const until = Date.now() + PASS_BUDGET_MS;
    const idle = () => !(outcome.delivered || outcome.failed || outcome.retrying);
    for (;;) {
      if (stopped) return idle() ? { ...outcome, skipped: 'stopped' } : outcome;
      // Known down: nothing would go through, and trying would only count attempts.
      if (!deps.ready()) return idle() ? { ...outcome, skipped: 'redis not ready' } : outcome;
      const b = await batch(types);
      outcome.delivered += b.delivered;
      outcome.failed += b.failed;
      outcome.retrying += b.retrying;
      if (b.retrying || b.claimed < BATCH || Date.now() > until) return outcome;
    }
  }

  const outbox: Outbox = {
    async add(tx, def, payloads) {
      const list = (Array.isArray(payloads) ? payloads : [payloads]) as unknown[];
      if (!list.length) return 0;
      if (eventDefinition(def.type) !== def) throw new OutboxPayloadError(`outbox: ${def.type} is not an event defined with defineEvent`);
      list.forEach((payload, i) => {
        const checked = def.schema.safeParse(payload);
        if (!checked.success) {
          const issue = checked.error.issues[0]!;
          const where = [...(list.length > 1 ? [String(i)] : []), ...issue.path.map(String)].join('.') || '(payload)';
          throw new OutboxPayloadError(`outbox: refused an invalid ${def.type} event: ${where}: ${issue.message}`);
        }
      });
      // As the bus would send them: JSON, dates as ISO strings, read back through the same schema.
      return sqlOf(tx).execute(
        `INSERT INTO "OutboxEvent" (type, payload)
         SELECT $1, e.value FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS e(value, n) ORDER BY e.n`,
        [def.type, JSON.stringify(list)],
      );
    },

    on(def, job, toPayload) {
      if (started) throw new Error(`outbox: the consumer ${job.name} of ${def.type} must be registered while modules are built, before the start`);
      const list = consumers.get(def.type) ?? [];
      if (list.some((c) => c.job.name === job.name)) throw new Error(`outbox: ${job.name} already consumes ${def.type}`);
      list.push({ job, toPayload: toPayload as Consumer['toPayload'] });
      consumers.set(def.type, list);
    },

    nudge() {
      if (!started || stopped || nudgeQueued) return;
      nudgeQueued = true;
      void exclusive(() => {
        nudgeQueued = false;
        return pass();
      }).catch((err: unknown) => deps.logger.warn({ err: message(err) }, 'outbox relay pass failed'));
    },

    relay: () => exclusive(pass),

    async prune() {
      return sqlOf(deps.pool).execute(
        `DELETE FROM "OutboxEvent"
         WHERE (state = 'DONE' AND "doneAt" < now() - make_interval(hours => $1))
            OR (state = 'FAILED' AND "doneAt" < now() - make_interval(hours => $2))`,
        [DONE_RETENTION_HOURS, FAILED_RETENTION_HOURS],
      );
    },

    jobs: [
      defineScheduledJob({ name: 'outbox.relay', queue: 'outbox', everyMs: 1_000, handler: () => outbox.relay() }),
      defineScheduledJob({ name: 'outbox.prune', queue: 'outbox', everyMs: 3_600_000, handler: () => outbox.prune(), keep: 24 }),
    ],

    start() {
      started = true;
    },

    async stop() {
      stopped = true;
      await tail;
    },
  };
  return outbox;
}

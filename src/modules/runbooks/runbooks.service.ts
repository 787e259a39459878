import { randomUUID } from 'node:crypto';
import type { Prisma } from '../../generated/prisma/client.js';
import type { AuditActor, AuditActorType } from '../../auth/actor.js';
import type { AuditChange, AuditRecorder } from '../../infra/audit-recorder.js';
import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import type { Outbox } from '../../infra/outbox.js';
import type { Database } from '../../infra/prisma.js';
import { sqlOf } from '../../infra/sql.js';
import { AppError } from '../../lib/errors.js';
import { createLogCollector, type LogLine } from '../../lib/log-lines.js';
import { pageInfo, resolvePage, type Page, type PageRequest } from '../../lib/pagination.js';
import { closest } from '../../lib/suggest.js';
import { isMutating, RUNBOOK_COMMANDS, type RunbookCatalog, type RunbookCommand, type RunbookDefinition } from './runbooks.definitions.js';
import { RUNBOOK_EXECUTED, type RunStatus } from './runbooks.events.js';
import { runHealthChecks, type HealthBlock, type HealthSources } from './runbooks.health.js';
import type { RunbookLock } from './runbooks.lock.js';
import { runSteps, stepEnvironment, type StepsOutcome } from './runbooks.runner.js';

/** The request's fields, as stored with the run and handed to its steps as OPSGRAPH_* variables. */
export interface RunFields {
  mode: string | null;
  window: string | null;
  profile: string | null;
  config: string | null;
  reason: string | null;
  enforce: boolean;
}

export interface ExecuteRequest extends Partial<Omit<RunFields, 'enforce'>> {
  command: string;
  requestId?: string | null;
  enforce?: boolean | null;
  dryRun?: boolean | null;
}

export interface RunRecord {
  id: string;
  requestId: string;
  command: RunbookCommand;
  dryRun: boolean;
  fields: RunFields;
  status: RunStatus;
  exitCode: number | null;
  logs: LogLine[];
  detail: string | null;
  health: HealthBlock | null;
  actor: { type: AuditActorType; id: string | null };
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  durationMs: number | null;
}

export interface RunFilter {
  command?: string | null;
  status?: RunStatus | null;
  dryRun?: boolean | null;
  since?: Date | null;
}

/** The ops console's state (seed 002): what the last runs left behind. */
export interface ConsoleState {
  environmentMode: string;
  activeProfile: string;
  activeWindow: string;
  lastExitCodes: Record<string, number>;
  lastUpdatedAt: Date | null;
}

export interface OpsStatus extends ConsoleState {
  lastRunbook: RunRecord | null;
  /** Newest first, at most STATUS_HISTORY, without their logs. */
  history: RunRecord[];
  healthByRequest: { requestId: string; health: HealthBlock }[];
  lastHealth: HealthBlock | null;
}

/** The state before any run (seed 002's defaults). */
export const CONSOLE_DEFAULTS = { environmentMode: 'live', activeProfile: 'primary', activeWindow: 'day' } as const;
/** What a successful failover makes active when the request names no config or profile. */
const FAILOVER_PROFILE = 'backup';
const STATUS_HISTORY = 20;
const TERMINAL: readonly RunStatus[] = ['success', 'failed', 'timeout', 'error', 'dry_run'];
/** After its timeout and kill grace, how much longer a run's end may take to be written before its waiter gives up. */
const FINISH_MARGIN_MS = 10_000;
const RUN_SORTS = ['createdAt', 'finishedAt', 'command', 'status'] as const;

type RunRow = Prisma.RunbookRunGetPayload<object>;

const toRecord = (r: RunRow): RunRecord => ({
  id: r.id,
  requestId: r.requestId,
  command: r.command as RunbookCommand,
  dryRun: r.dryRun,
  fields: r.fields as unknown as RunFields,
  status: r.status as RunStatus,
  exitCode: r.exitCode,
  logs: (r.logs ?? []) as unknown as LogLine[],
  detail: r.detail,
  health: (r.health ?? null) as unknown as HealthBlock | null,
  actor: { type: (r.actor as { type: AuditActorType }).type, id: (r.actor as { id: string | null }).id },
  createdAt: r.createdAt,
  startedAt: r.startedAt,
  finishedAt: r.finishedAt,
  durationMs: r.durationMs,
});

const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === 'P2002';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a run changes in the console state when it ends: nothing for dry runs, the exit code always, the rest on success. */
export function stateChange(run: Pick<RunRecord, 'command' | 'dryRun' | 'fields'>, outcome: { status: RunStatus; exitCode: number | null }) {
  if (run.dryRun) return null;
  const ok = outcome.status === 'success';
  const profile = !ok ? null : run.command === 'failover' ? (run.fields.config ?? run.fields.profile ?? FAILOVER_PROFILE) : run.command === 'failback' ? CONSOLE_DEFAULTS.activeProfile : null;
  return {
    environmentMode: ok ? run.fields.mode : null,
    activeWindow: ok ? run.fields.window : null,
    activeProfile: profile,
    exitCode: outcome.exitCode,
  };
}

/** The environment of a run's steps: the request's fields, nothing else of it. */
export function requestEnvironment(run: Pick<RunRecord, 'requestId' | 'command' | 'fields'>): Record<string, string> {
  const f = run.fields;
  return {
    OPSGRAPH_REQUEST_ID: run.requestId,
    OPSGRAPH_COMMAND: run.command,
    OPSGRAPH_MODE: f.mode ?? '',
    OPSGRAPH_WINDOW: f.window ?? '',
    OPSGRAPH_PROFILE: f.profile ?? '',
    OPSGRAPH_CONFIG: f.config ?? '',
    OPSGRAPH_REASON: f.reason ?? '',
    OPSGRAPH_ENFORCE: f.enforce ? 'true' : 'false',
  };
}

/** The plan a dry run answers: the steps as they would run, and what the run would change. */
function plan(def: RunbookDefinition, run: Pick<RunRecord, 'command' | 'dryRun' | 'fields'>, at: string): LogLine[] {
  const lines: LogLine[] = [{ level: 'INFO', message: `dry run of ${def.command}: nothing is executed (timeout ${def.timeoutSeconds} s)`, at }];
  if (def.requiresEnforce && !run.fields.enforce) lines.push({ level: 'WARN', message: `${def.command} requires enforce: true to run`, at });
  for (const s of def.steps) {
    const flags = [`timeout ${s.timeoutSeconds} s`, ...(s.continueOnError ? ['continue_on_error'] : [])].join(', ');
    lines.push({ level: 'INFO', message: `would run step ${s.name}: ${s.argv.join(' ')} (${flags})`, step: s.name, at });
  }
  if (def.command === 'health_check') lines.push({ level: 'INFO', message: 'would run the built-in checks: postgres, redis, fleet_coverage', at });
  const change = stateChange({ ...run, dryRun: false }, { status: 'success', exitCode: 0 });
  if (change?.activeProfile) lines.push({ level: 'INFO', message: `on success would set active_profile to ${change.activeProfile}`, at });
  if (change?.environmentMode) lines.push({ level: 'INFO', message: `on success would set environment_mode to ${change.environmentMode}`, at });
  if (change?.activeWindow) lines.push({ level: 'INFO', message: `on success would set active_window to ${change.activeWindow}`, at });
  return lines;
}

export interface RunbooksServiceDeps {
  db: Database;
  clock: Clock;
  logger: Logger;
  audit: AuditRecorder;
  outbox: Pick<Outbox, 'add' | 'nudge'>;
  catalog: RunbookCatalog;
  lock: RunbookLock;
  health: Omit<HealthSources, 'now'>;
  /** Hands a queued run to the `runbooks` workers. */
  enqueue(runId: string): Promise<unknown>;
  graceMs: number;
  maxLogLines: number;
  pickupMs: number;
}

/**
 * Runbook runs: asked for by the console (REST or GraphQL), queued, executed by a worker, waited
 * for, stored, audited and announced. Idempotent on the caller's request id (a unique key), one
 * mutating run at a time per deployment (runbooks.lock.ts).
 */
export function createRunbooksService(deps: RunbooksServiceDeps) {
  const { db, clock, logger } = deps;

  function commandOf(input: string): RunbookCommand {
    if ((RUNBOOK_COMMANDS as readonly string[]).includes(input)) return input as RunbookCommand;
    const hint = closest(input, RUNBOOK_COMMANDS);
    throw new AppError('VALIDATION_FAILED', `unknown command ${input}; one of ${RUNBOOK_COMMANDS.join(', ')}${hint ? ` (did you mean ${hint}?)` : ''}`, { field: 'command' });
  }

  function definitionOf(command: RunbookCommand): RunbookDefinition {
    const def = deps.catalog.current().get(command);
    if (!def) throw new AppError('VALIDATION_FAILED', `no runbook is configured for ${command} (RUNBOOKS_FILE)`, { field: 'command' });
    return def;
  }

  const byRequest = async (requestId: string) => {
    const row = await db.runbookRun.findUnique({ where: { requestId } });
    return row ? toRecord(row) : null;
  };

  /**
   * Ends a run: its outcome, the console state it moves, the audit entries and runbook:executed,
   * in one transaction, only if the run is still in `from` (compare-and-set: a waiter that gave up
   * and a late worker never both write an end). Answers whether this call wrote it.
   */
  async function finish(
    runId: string,
    from: RunStatus | null,
    outcome: { status: RunStatus; exitCode: number | null; detail?: string | null; logs?: LogLine[]; health?: HealthBlock | null; durationMs?: number | null },
    actorOverride?: AuditActor,
    create?: Prisma.RunbookRunUncheckedCreateInput,
  ): Promise<boolean> {
    const now = clock.now();
    const ended = await db.$transaction(async (tx) => {
      const data = {
        status: outcome.status,
        exitCode: outcome.exitCode,
        detail: outcome.detail ?? null,
        finishedAt: now,
        durationMs: outcome.durationMs ?? null,
        ...(outcome.logs ? { logs: outcome.logs as unknown as Prisma.InputJsonValue } : {}),
        ...(outcome.health ? { health: outcome.health as unknown as Prisma.InputJsonValue } : {}),
      };
      let row: RunRow;
      if (create) row = await tx.runbookRun.create({ data: { ...create, ...data } });
      else {
        const moved = await tx.runbookRun.updateMany({ where: { id: runId, status: from! }, data });
        if (!moved.count) return null;
        row = await tx.runbookRun.findUniqueOrThrow({ where: { id: runId } });
      }
      const run = toRecord(row);
      const stored = row.actor as unknown as AuditActor;
      const actor = actorOverride ?? { type: stored.type, id: stored.id, ip: stored.ip ?? null, requestId: stored.requestId ?? null };
      const changes: AuditChange[] = [
        {
          action: run.dryRun ? 'runbook.dry_run' : 'runbook.execute',
          resourceType: 'runbook_run',
          resourceId: run.requestId,
          after: { command: run.command, status: run.status, exitCode: run.exitCode, detail: run.detail, fields: run.fields, durationMs: run.durationMs },
        },
      ];
      const change = stateChange(run, outcome);
      if (change) {
        const sql = sqlOf(tx);
        const [before] = await sql.query<Record<string, unknown>>(
          `SELECT "environmentMode", "activeProfile", "activeWindow", "lastExitCodes" FROM "OpsConsoleState" WHERE id = 1 FOR UPDATE`,
        );
        const [after] = await sql.query<Record<string, unknown>>(
          `INSERT INTO "OpsConsoleState" (id, "environmentMode", "activeProfile", "activeWindow", "lastExitCodes", "lastRunId", "updatedAt")
           VALUES (1, COALESCE($1, $7), COALESCE($2, $8), COALESCE($3, $9), $4::jsonb, $5::uuid, $6)
           ON CONFLICT (id) DO UPDATE SET
             "environmentMode" = COALESCE($1, "OpsConsoleState"."environmentMode"),
             "activeProfile" = COALESCE($2, "OpsConsoleState"."activeProfile"),
             "activeWindow" = COALESCE($3, "OpsConsoleState"."activeWindow"),
             "lastExitCodes" = "OpsConsoleState"."lastExitCodes" || $4::jsonb,
             "lastRunId" = $5::uuid, "updatedAt" = $6
           RETURNING "environmentMode", "activeProfile", "activeWindow", "lastExitCodes"`,
          [
            change.environmentMode,
            change.activeProfile,
            change.activeWindow,
            JSON.stringify(change.exitCode === null ? {} : { [run.command]: change.exitCode }),
            run.id,
            now,
            CONSOLE_DEFAULTS.environmentMode,
            CONSOLE_DEFAULTS.activeProfile,
            CONSOLE_DEFAULTS.activeWindow,
          ],
        );
        changes.push({ action: 'ops_console.update', resourceType: 'ops_console', resourceId: '1', before: before ?? null, after });
      }
      await deps.outbox.add(tx, RUNBOOK_EXECUTED, {
        runId: run.id,
        requestId: run.requestId,
        command: run.command,
        status: run.status,
        exitCode: run.exitCode,
        dryRun: run.dryRun,
        detail: run.detail,
        startedAt: run.startedAt,
        finishedAt: now,
        durationMs: run.durationMs,
        actor: run.actor,
      });
      // Last: the audit chain's lock is then held only until the commit.
      await deps.audit.record(tx, actor, changes);
      return run;
    });
    if (ended) deps.outbox.nudge();
    return ended !== null;
  }

  /** Waits until the run has ended, giving it up when no worker takes it in time or its end never comes. */
  async function awaitEnd(runId: string, def: RunbookDefinition): Promise<RunRecord> {
    const pickupDeadline = Date.now() + deps.pickupMs;
    const endBudgetMs = def.timeoutSeconds * 1_000 + deps.graceMs + FINISH_MARGIN_MS;
    let endDeadline: number | undefined;
    for (let pause = 20; ; pause = Math.min(pause * 2, 250)) {
      const row = await db.runbookRun.findUniqueOrThrow({ where: { id: runId } });
      const status = row.status as RunStatus;
      if (TERMINAL.includes(status)) return toRecord(row);
      if (status === 'queued' && Date.now() > pickupDeadline) {
        // The worker's claim is a compare-and-set on `queued` too: a run given up here never runs later.
        await finish(runId, 'queued', { status: 'error', exitCode: null, detail: `no runbooks worker took the run within ${deps.pickupMs / 1000} s` });
        continue;
      }
      if (status === 'running') {
        endDeadline ??= Date.now() + endBudgetMs;
        if (Date.now() > endDeadline) {
          await finish(runId, 'running', { status: 'error', exitCode: null, detail: `the worker did not report the end of the run within ${Math.round(endBudgetMs / 1000)} s` });
          continue;
        }
      }
      await sleep(pause);
    }
  }

  /** The same request id again: the stored run (waited for if it has not ended), never a second run. */
  async function replay(existing: RunRecord, command: RunbookCommand): Promise<RunRecord> {
    if (existing.command !== command) {
      throw new AppError('CONFLICT', `request_id ${existing.requestId} was used for ${existing.command}, not ${command}`, { field: 'request_id', command: existing.command });
    }
    if (TERMINAL.includes(existing.status)) return existing;
    return awaitEnd(existing.id, definitionOf(existing.command));
  }

  async function conflictWith(holder: string | null): Promise<never> {
    const running = holder ? await db.runbookRun.findUnique({ where: { id: holder }, select: { requestId: true, command: true } }) : null;
    const what = running ? `${running.command} (request_id ${running.requestId}) is running` : 'another runbook is running';
    throw new AppError('CONFLICT', `${what}: runbooks other than health_check run one at a time`, {
      field: 'command',
      ...(running ? { running: { request_id: running.requestId, command: running.command } } : {}),
    });
  }

  return {
    definitions(): RunbookDefinition[] {
      return [...deps.catalog.current().values()];
    },

    /** Runs a runbook (or answers its plan) and answers the run once it has ended. */
    async execute(input: ExecuteRequest, actor: AuditActor): Promise<RunRecord> {
      const command = commandOf(input.command);
      const def = definitionOf(command);
      const requestId = input.requestId ?? randomUUID();
      const dryRun = input.dryRun ?? false;
      const existing = await byRequest(requestId);
      if (existing) return replay(existing, command);
      const fields: RunFields = {
        mode: input.mode ?? null,
        window: input.window ?? null,
        profile: input.profile ?? null,
        config: input.config ?? null,
        reason: input.reason ?? null,
        enforce: input.enforce ?? false,
      };
      if (def.requiresEnforce && !fields.enforce && !dryRun) {
        throw new AppError('VALIDATION_FAILED', `${command} requires enforce: true`, { field: 'enforce' });
      }
      const runId = randomUUID();
      const now = clock.now();
      const base = { id: runId, requestId, command, fields: fields as unknown as Prisma.InputJsonValue, actor: actor as unknown as Prisma.InputJsonValue, createdAt: now };

      if (dryRun) {
        try {
          await finish(runId, null, { status: 'dry_run', exitCode: 0, logs: plan(def, { command, dryRun, fields }, now.toISOString()), durationMs: 0 }, actor, {
            ...base,
            dryRun: true,
            status: 'dry_run',
            startedAt: now,
          });
        } catch (err) {
          if (!isUniqueViolation(err)) throw err;
          return replay((await byRequest(requestId))!, command);
        }
        return (await byRequest(requestId))!;
      }

      const mutating = isMutating(command);
      if (mutating) {
        const got = await deps.lock.acquire(runId);
        if (!got.ok) return conflictWith(got.holder);
      }
      let keeping = () => {};
      try {
        try {
          await db.runbookRun.create({ data: { ...base, status: 'queued' } });
        } catch (err) {
          if (!isUniqueViolation(err)) throw err;
          // The same request id, at the same moment, from elsewhere: that one runs.
          if (mutating) await deps.lock.release(runId);
          return await replay((await byRequest(requestId))!, command);
        }
        try {
          await deps.enqueue(runId);
        } catch (err) {
          await finish(runId, 'queued', { status: 'error', exitCode: null, detail: 'the run could not be queued' });
          throw err;
        }
        if (mutating) keeping = deps.lock.keep(runId, () => logger.warn({ runId }, 'runbook lock lost while waiting for the run'));
        return await awaitEnd(runId, def);
      } finally {
        keeping();
        // The worker frees it when the run ends; this covers runs it never took. Only this run's hold is freed.
        if (mutating) await deps.lock.release(runId).catch(() => undefined);
      }
    },

    /** The worker's part: claims a queued run, runs its steps (and the built-in checks), writes its end. */
    async runJob(runId: string): Promise<void> {
      const claimed = await db.runbookRun.updateMany({ where: { id: runId, status: 'queued' }, data: { status: 'running', startedAt: clock.now() } });
      if (!claimed.count) {
        logger.info({ runId }, 'runbook run already taken or given up: not run');
        return;
      }
      const run = toRecord(await db.runbookRun.findUniqueOrThrow({ where: { id: runId } }));
      const def = deps.catalog.current().get(run.command);
      if (!def) {
        await finish(runId, 'running', { status: 'error', exitCode: null, detail: `no runbook is configured for ${run.command} on this worker` });
        return;
      }
      const mutating = isMutating(run.command);
      if (mutating && !(await deps.lock.renew(runId))) {
        await finish(runId, 'running', { status: 'error', exitCode: null, detail: 'the deployment lock expired before the run started' });
        return;
      }
      const stopKeeping = mutating ? deps.lock.keep(runId, () => logger.error({ runId }, 'runbook lock lost during the run')) : () => {};
      const started = performance.now();
      try {
        const logs = createLogCollector(deps.maxLogLines, () => clock.now());
        logs.note('INFO', `${run.command} started (request_id ${run.requestId})`);
        let outcome: StepsOutcome = def.steps.length ? await runSteps(def, stepEnvironment(def, requestEnvironment(run)), logs, deps.graceMs) : { status: 'success', exitCode: 0 };
        let health: HealthBlock | null = null;
        if (run.command === 'health_check') {
          health = await runHealthChecks({ ...deps.health, now: () => clock.now() });
          for (const c of health.checks) logs.note(c.status === 'pass' ? 'INFO' : 'ERROR', `check ${c.name}: ${c.status} in ${c.latency_ms} ms${c.detail ? ` (${c.detail})` : ''}`);
          if (outcome.status === 'success' && health.checks.some((c) => c.status === 'fail')) outcome = { status: 'failed', exitCode: 1 };
        }
        logs.note(outcome.status === 'success' ? 'INFO' : 'ERROR', `${run.command} ended: ${outcome.status}, exit code ${outcome.exitCode}`);
        const written = await finish(runId, 'running', {
          status: outcome.status,
          exitCode: outcome.exitCode,
          detail: 'detail' in outcome ? outcome.detail : null,
          logs: logs.lines(),
          health,
          durationMs: Math.round(performance.now() - started),
        });
        if (!written) logger.error({ runId, outcome }, 'runbook run ended after its waiter gave it up: outcome not stored');
      } finally {
        stopKeeping();
        if (mutating) await deps.lock.release(runId).catch(() => undefined);
      }
    },

    async run(requestId: string): Promise<RunRecord> {
      const run = await byRequest(requestId);
      if (!run) throw new AppError('NOT_FOUND', `no runbook run with request_id ${requestId}`, { field: 'requestId' });
      return run;
    },

    async runs(filter: RunFilter | null | undefined, page: PageRequest | null | undefined): Promise<Page<RunRecord>> {
      const p = resolvePage(page, RUN_SORTS, 'createdAt');
      const where: Prisma.RunbookRunWhereInput = {
        ...(filter?.command ? { command: filter.command } : {}),
        ...(filter?.status ? { status: filter.status } : {}),
        ...(filter?.dryRun != null ? { dryRun: filter.dryRun } : {}),
        ...(filter?.since ? { createdAt: { gte: filter.since } } : {}),
      };
      const [rows, total] = await Promise.all([
        db.runbookRun.findMany({ where, orderBy: [{ [p.sort]: p.order }, { id: p.order }], skip: p.skip, take: p.take }),
        db.runbookRun.count({ where }),
      ]);
      return { items: rows.map(toRecord), pageInfo: pageInfo(total, p.page, p.limit) };
    },

    async state(): Promise<ConsoleState> {
      const s = await db.opsConsoleState.findUnique({ where: { id: 1 } });
      return {
        environmentMode: s?.environmentMode ?? CONSOLE_DEFAULTS.environmentMode,
        activeProfile: s?.activeProfile ?? CONSOLE_DEFAULTS.activeProfile,
        activeWindow: s?.activeWindow ?? CONSOLE_DEFAULTS.activeWindow,
        lastExitCodes: (s?.lastExitCodes ?? {}) as Record<string, number>,
        lastUpdatedAt: s?.updatedAt ?? null,
      };
    },

    async status(): Promise<OpsStatus> {
      const ended = { dryRun: false, finishedAt: { not: null } } as const;
      const [state, last, history, healthRuns] = await Promise.all([
        this.state(),
        db.runbookRun.findFirst({ where: ended, orderBy: [{ finishedAt: 'desc' }, { id: 'desc' }] }),
        db.runbookRun.findMany({ orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: STATUS_HISTORY, omit: { logs: true } }),
        db.runbookRun.findMany({ where: { ...ended, command: 'health_check', status: { in: ['success', 'failed'] } }, orderBy: [{ finishedAt: 'desc' }, { id: 'desc' }], take: STATUS_HISTORY, select: { requestId: true, health: true } }),
      ]);
      const healthByRequest = healthRuns.flatMap((r) => (r.health ? [{ requestId: r.requestId, health: r.health as unknown as HealthBlock }] : []));
      return {
        ...state,
        lastRunbook: last ? toRecord(last) : null,
        history: history.map((r) => toRecord({ ...r, logs: [] })),
        healthByRequest,
        lastHealth: healthByRequest[0]?.health ?? null,
      };
    },

    /** The newest ended run (not a dry run) of `command`, or of any command. */
    async lastRun(command?: RunbookCommand): Promise<RunRecord | null> {
      const row = await db.runbookRun.findFirst({
        where: { dryRun: false, finishedAt: { not: null }, exitCode: { not: null }, ...(command ? { command } : {}) },
        orderBy: [{ finishedAt: 'desc' }, { id: 'desc' }],
        omit: { logs: true },
      });
      return row ? toRecord({ ...row, logs: [] }) : null;
    },
  };
}

export type RunbooksService = ReturnType<typeof createRunbooksService>;

import { z } from 'zod';
import { errorBody } from '../../http/envelope.js';
import { requestActor, type RouteDef } from '../../http/routes.js';
import { parseInput } from '../../http/validate.js';
import { AppError } from '../../lib/errors.js';
import { AGGREGATIONS } from '../../lib/metric-aggregate.js';
import { parseLabelFilter } from '../../lib/metric-labels.js';
import type { HealthBlock } from './runbooks.health.js';
import type { OpsConsole } from './runbooks.console.js';
import type { RunbooksService, RunRecord } from './runbooks.service.js';

/** A value that ends up in a step's environment and the console state: a short word, no spaces or shell syntax. */
export const CONSOLE_TOKEN = /^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,99}$/;
export const REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;
export const REASON_MAX = 500;

const token = z.string().regex(CONSOLE_TOKEN, 'letters, digits and _ . : @ / -, at most 100').nullish();

const executeBody = z.strictObject({
  command: z.string().min(1).max(50),
  mode: token,
  window: token,
  profile: token,
  config: token,
  request_id: z.string().regex(REQUEST_ID, 'letters, digits and _ . : -, at most 100').nullish(),
  enforce: z.boolean().nullish(),
  dry_run: z.boolean().nullish(),
  reason: z.string().max(REASON_MAX).nullish(),
});

/** The time series' query string: seed 002's three, plus how a step's samples combine and a label filter. */
const timeseriesParams = z.strictObject({
  metric: z.string().min(1).max(200),
  minutes: z.coerce.number().int().min(1).max(10_080).default(60),
  step_seconds: z.coerce.number().int().min(10).max(3_600).default(60),
  aggregation: z.enum(AGGREGATIONS).default('avg'),
  labels: z.string().max(8_000).optional(),
});

const iso = (d: Date | null) => d?.toISOString() ?? null;

/** A run in the seed's snake_case; `withLogs: false` for lists. */
export function runView(r: RunRecord, withLogs = true) {
  return {
    request_id: r.requestId,
    command: r.command,
    status: r.status,
    exit_code: r.exitCode,
    dry_run: r.dryRun,
    detail: r.detail,
    mode: r.fields.mode,
    window: r.fields.window,
    profile: r.fields.profile,
    config: r.fields.config,
    reason: r.fields.reason,
    enforce: r.fields.enforce,
    requested_by: r.actor,
    created_at: iso(r.createdAt),
    started_at: iso(r.startedAt),
    finished_at: iso(r.finishedAt),
    duration_ms: r.durationMs,
    ...(withLogs ? { logs: r.logs } : {}),
  };
}

/** The ops console's REST API (seed 002): its shapes, no envelope; errors in the REST error envelope. */
export function opsRoutes(runbooks: RunbooksService, console: OpsConsole): RouteDef[] {
  // People by role; API keys only with the scope ops (an unscoped key is refused).
  const read = { access: 'VIEWER', keyScope: 'ops', rateLimit: 'standard' } as const;
  const operate = { access: 'OPERATOR', keyScope: 'ops', rateLimit: 'standard' } as const;
  return [
    {
      method: 'get',
      path: '/status',
      ...read,
      handler: async (_req, res) => {
        const s = await runbooks.status();
        res.json({
          environment_mode: s.environmentMode,
          active_profile: s.activeProfile,
          active_window: s.activeWindow,
          last_runbook: s.lastRunbook ? runView(s.lastRunbook) : null,
          runbook_history: s.history.map((r) => runView(r, false)),
          health_by_request: Object.fromEntries(s.healthByRequest.map((h) => [h.requestId, h.health])),
          last_health: s.lastHealth,
          last_exit_codes: s.lastExitCodes,
          last_updated_at: iso(s.lastUpdatedAt),
        });
      },
    },
    {
      method: 'get',
      path: '/metrics/summary',
      ...read,
      handler: async (_req, res) => void res.json(await console.summary()),
    },
    {
      method: 'get',
      path: '/metrics/timeseries',
      ...read,
      handler: async (req, res) => {
        const p = parseInput(timeseriesParams, req.query, 'query');
        const labels = p.labels ? parseLabelFilter(p.labels) : {};
        if (!labels) throw new AppError('BAD_USER_INPUT', 'labels: key:value pairs separated by commas, such as env:prod,region:eu', { field: 'labels' });
        const series = await console.timeseries({ metric: p.metric, minutes: p.minutes, stepSeconds: p.step_seconds, aggregation: p.aggregation, labels });
        res.json({ metric: series.metric, unit: series.unit, points: series.points.map((pt) => ({ timestamp: pt.timestamp.toISOString(), value: pt.value })) });
      },
    },
    {
      method: 'post',
      path: '/runbooks/execute',
      ...operate,
      handler: async (req, res) => {
        const b = parseInput(executeBody, req.body);
        const run = await runbooks.execute(
          {
            command: b.command,
            mode: b.mode,
            window: b.window,
            profile: b.profile,
            config: b.config,
            requestId: b.request_id,
            enforce: b.enforce,
            dryRun: b.dry_run,
            reason: b.reason,
          },
          requestActor(req),
        );
        const health: HealthBlock | null = run.health;
        if (run.status === 'timeout' || run.status === 'error') {
          // Seed 002's clients read a top-level `detail`; the envelope says the same for everyone else.
          const err = new AppError('EXECUTION_FAILED', run.detail ?? 'the runbook could not be executed', { request_id: run.requestId, status: run.status, exit_code: run.exitCode });
          return void res.status(500).json({ ...errorBody(err), detail: run.detail, runbook: runView(run), health });
        }
        res.json({ runbook: runView(run), health });
      },
    },
  ];
}

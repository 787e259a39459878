import type pg from 'pg';
import type { Config } from '../../config.js';
import type { Clock } from '../../infra/clock.js';
import type { EventBus } from '../../infra/events.js';
import type { Database } from '../../infra/prisma.js';
import { sqlOf } from '../../infra/sql.js';
import { AppError } from '../../lib/errors.js';
import { METRIC_EVENT, type MetricEventRecord } from './metrics.events.js';
import type { MetricsQuery } from './metrics.query.js';

export const SUMMARY_PERIODS = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 } as const;
export type SummaryPeriod = keyof typeof SUMMARY_PERIODS;
export const SUMMARY_TYPES = ['performance', 'users', 'errors', 'all'] as const;
export type SummaryType = (typeof SUMMARY_TYPES)[number];

/** Users seen in the events of this window count as active (as `/users/active` counts them). */
const ACTIVE_USER_WINDOW_MS = 300_000;

/** Recorded events and seed 004's aggregated summary. */
export function createMetricEvents(deps: { db: Database; pool: pg.Pool; clock: Clock; events: EventBus; config: Config; query: MetricsQuery }) {
  return {
    /** Stores a business or API event and puts it on the bus (the `/ws` `events` channel). */
    async record(input: { type: string; data: Record<string, unknown>; timestamp?: Date }): Promise<MetricEventRecord> {
      const row = await deps.db.metricEvent.create({ data: { type: input.type, data: input.data as object, recordedAt: input.timestamp ?? deps.clock.now() } });
      const event = { id: row.id, type: row.type, data: row.data as Record<string, unknown>, timestamp: row.recordedAt };
      await deps.events.publish(METRIC_EVENT, event);
      return event;
    },

    async prune(): Promise<number> {
      const cutoff = new Date(deps.clock.now().getTime() - deps.config.METRICS_EVENT_RETENTION_DAYS * 86_400_000);
      return (await deps.db.metricEvent.deleteMany({ where: { recordedAt: { lt: cutoff } } })).count;
    },

    /**
     * Seed 004's `GET /metrics` figures over a period: events recorded, active users, and Opsgraph's
     * own API requests as the `api` collector stored them (count, duration weighted by count, 5xx share).
     */
    async summary(period: SummaryPeriod, type: SummaryType) {
      if (!(period in SUMMARY_PERIODS)) throw new AppError('BAD_USER_INPUT', `period must be one of: ${Object.keys(SUMMARY_PERIODS).join(', ')}`, { field: 'period' });
      const now = deps.clock.now();
      const since = new Date(now.getTime() - SUMMARY_PERIODS[period]);
      const sql = sqlOf(deps.pool);
      const [ev] = await sql.query<{ total: string; active: string }>(
        `SELECT count(*) AS total, (SELECT count(DISTINCT data->>'user_id') FROM "MetricEvent" WHERE "recordedAt" > $3 AND "recordedAt" <= $2 AND data ? 'user_id') AS active
           FROM "MetricEvent" WHERE "recordedAt" > $1 AND "recordedAt" <= $2`,
        [since.toISOString(), now.toISOString(), new Date(now.getTime() - ACTIVE_USER_WINDOW_MS).toISOString()],
      );
      // Both api metrics are flushed together with the same labels, so their series share a labels hash.
      const [api] = await sql.query<{ requests: number | null; errors: number | null; weighted: number | null }>(
        `SELECT sum(r.sum) AS requests,
                sum(r.sum) FILTER (WHERE s.labels->>'status' >= '500') AS errors,
                sum(r.sum * d.sum / nullif(d.count, 0)) / nullif(sum(r.sum) FILTER (WHERE d.count > 0), 0) AS weighted
           FROM metric_rollup_1m r
           JOIN "MetricSeries" s ON s.id = r.series_id AND s."metricId" = (SELECT id FROM "MetricDefinition" WHERE name = 'api.requests.total')
           LEFT JOIN "MetricSeries" s2 ON s2."labelsHash" = s."labelsHash" AND s2."metricId" = (SELECT id FROM "MetricDefinition" WHERE name = 'api.request.duration')
           LEFT JOIN metric_rollup_1m d ON d.series_id = s2.id AND d.bucket = r.bucket
          WHERE r.bucket >= $1 AND r.bucket <= $2`,
        [since.toISOString(), now.toISOString()],
      );
      const requests = Number(api?.requests ?? 0);
      const all = {
        total_events: Number(ev?.total ?? 0),
        active_users: Number(ev?.active ?? 0),
        avg_latency_ms: api?.weighted == null ? 0 : Math.round(api.weighted * 100) / 100,
        error_rate: requests > 0 ? Math.round((Number(api?.errors ?? 0) / requests) * 10_000) / 10_000 : 0,
        requests_per_second: Math.round((requests / (SUMMARY_PERIODS[period] / 1_000)) * 1_000) / 1_000,
      };
      const pick: Record<SummaryType, (keyof typeof all)[]> = {
        performance: ['avg_latency_ms', 'requests_per_second'],
        users: ['total_events', 'active_users'],
        errors: ['error_rate'],
        all: Object.keys(all) as (keyof typeof all)[],
      };
      return { period, metrics: Object.fromEntries(pick[type].map((k) => [k, all[k]])), timestamp: now };
    },
  };
}

export type MetricEvents = ReturnType<typeof createMetricEvents>;

import { z } from 'zod';
import type { Config } from '../../config.js';
import { isoInstant, withinWindow } from '../../http/validate.js';
import { AppError } from '../../lib/errors.js';
import { AGGREGATIONS } from '../../lib/metric-aggregate.js';
import { parseLabelFilter, type Labels } from '../../lib/metric-labels.js';
import { GRANULARITIES, relativeInstant } from '../../lib/metric-time.js';
import type { SeriesQuery } from './metrics.query.js';
import { METRIC_NAME } from './metrics.samples.js';

export const MAX_POINTS = 100_000;

/** The query string of `GET /api/v1/metrics/:name` (GraphQL's `metricSeries` takes the same, labels as a list). */
export const seriesParams = z.strictObject({
  start: z.string().min(1).max(64),
  end: z.string().min(1).max(64).optional(),
  granularity: z.enum(GRANULARITIES).optional(),
  aggregation: z.enum(AGGREGATIONS).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_POINTS).optional(),
  labels: z.string().max(8_000).optional(),
});
export type SeriesParams = z.output<typeof seriesParams>;

/** An ISO instant or a relative one (`-1h`, `-7d`, `-30m`) before `now`; a 400 naming `field` otherwise. */
export function instantParam(text: string, now: Date, field: string): Date {
  const relative = relativeInstant(text, now);
  if (relative) return relative;
  const iso = isoInstant.safeParse(text);
  if (!iso.success) throw new AppError('BAD_USER_INPUT', `${field}: an ISO-8601 instant or a relative one such as -1h, -7d, -30m`, { field });
  return iso.data;
}

export function labelsParam(text: string | undefined): Labels {
  if (text === undefined || text === '') return {};
  const labels = parseLabelFilter(text);
  if (!labels) throw new AppError('BAD_USER_INPUT', 'labels: key:value pairs separated by commas, such as env:prod,region:eu', { field: 'labels' });
  return labels;
}

export function toSeriesQuery(name: string, p: SeriesParams, labels: Labels, now: Date): SeriesQuery {
  if (!METRIC_NAME.test(name)) throw new AppError('BAD_USER_INPUT', 'name: not a metric name', { field: 'name' });
  const start = instantParam(p.start, now, 'start');
  const end = p.end === undefined ? now : instantParam(p.end, now, 'end');
  if (start.getTime() >= end.getTime()) throw new AppError('BAD_USER_INPUT', 'start must be before end', { field: 'start' });
  return { name, start, end, granularity: p.granularity ?? 'auto', aggregation: p.aggregation ?? 'avg', labels, limit: p.limit };
}

const EVENT_TYPE = /^[A-Za-z0-9_.:-]{1,100}$/;
const MAX_EVENT_BYTES = 16_384;

/** Seed 000's event body: `{ type, data }`, and an optional `timestamp`. */
export const eventBody = z.strictObject({
  type: z.string().regex(EVENT_TYPE, 'letters, digits, "_", ".", ":" and "-", at most 100 characters'),
  data: z.record(z.string(), z.unknown()).optional(),
  timestamp: isoInstant.optional(),
});

export function toEvent(body: z.output<typeof eventBody>, now: Date, config: Config): { type: string; data: Record<string, unknown>; timestamp: Date } {
  const data = body.data ?? {};
  if (Buffer.byteLength(JSON.stringify(data)) > MAX_EVENT_BYTES) throw new AppError('BAD_USER_INPUT', `data: at most ${MAX_EVENT_BYTES} bytes of JSON`, { field: 'data' });
  const timestamp = withinWindow(body.timestamp, now, 'timestamp', { maxAheadMs: 300_000, maxAgeMs: config.METRICS_EVENT_RETENTION_DAYS * 86_400_000 });
  return { type: body.type, data, timestamp };
}

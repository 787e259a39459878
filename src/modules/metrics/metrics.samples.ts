import { z } from 'zod';
import type { Config } from '../../config.js';
import { isoInstant } from '../../http/validate.js';
import { AppError } from '../../lib/errors.js';
import type { Labels } from '../../lib/metric-labels.js';
import { METRIC_TYPES, type MetricType } from './metrics.catalog.js';

/** A sample as the store takes it, pushed or collected. */
export interface SampleInput {
  name: string;
  value: number;
  timestamp: Date;
  labels: Labels;
  type?: MetricType;
  unit?: string;
}

export const METRIC_NAME = /^[A-Za-z_][A-Za-z0-9_.:]{0,199}$/;
export const MAX_SAMPLES_PER_REQUEST = 10_000;
export const MAX_LABELS = 32;
const MAX_AHEAD_MS = 5 * 60_000;

const labels = z
  .record(z.string().min(1).max(100), z.string().max(200))
  .refine((l) => Object.keys(l).length <= MAX_LABELS, { message: `at most ${MAX_LABELS} labels` });

/** Seed 004's body: `{ name, value, timestamp, tags }`, tags becoming labels; `type` and `unit` optional. */
export const sampleBody = z.strictObject({
  name: z.string().regex(METRIC_NAME, 'letters, digits, "_", "." and ":", starting with a letter or "_", at most 200 characters'),
  // JSON has no NaN or Infinity; 1e309 parses as Infinity and is refused here, as is a number sent as a string.
  value: z.number(),
  timestamp: isoInstant.optional(),
  tags: labels.optional(),
  type: z.enum(METRIC_TYPES).optional(),
  unit: z.string().min(1).max(32).optional(),
});
export type SampleBody = z.output<typeof sampleBody>;

export const samplesBody = z.strictObject({
  samples: z.array(sampleBody).min(1, 'at least one sample').max(MAX_SAMPLES_PER_REQUEST, `at most ${MAX_SAMPLES_PER_REQUEST} samples a request`),
});

/**
 * Samples from parsed bodies, their timestamps checked against the server's clock (now when
 * absent): at most 5 min ahead, at most the raw retention old. `path(i)` names sample i in errors ('' for a single body).
 */
export function toSamples(bodies: readonly SampleBody[], now: Date, config: Config, path: (i: number) => string): SampleInput[] {
  const oldest = now.getTime() - config.METRICS_RETENTION_RAW_DAYS * 86_400_000;
  const newest = now.getTime() + MAX_AHEAD_MS;
  return bodies.map((b, i) => {
    const at = b.timestamp ?? now;
    const field = path(i) ? `${path(i)}.timestamp` : 'timestamp';
    if (at.getTime() > newest) throw new AppError('BAD_USER_INPUT', `${field}: more than 5 minutes in the future`, { field });
    if (at.getTime() < oldest) throw new AppError('BAD_USER_INPUT', `${field}: older than the raw retention (${config.METRICS_RETENTION_RAW_DAYS} days)`, { field });
    return { name: b.name, value: b.value, timestamp: at, labels: b.tags ?? {}, type: b.type, unit: b.unit };
  });
}

import { z } from 'zod';
import { defineEvent } from '../../infra/events.js';

/** A sample as live subscribers receive it. */
export interface SampledMetric {
  name: string;
  value: number;
  timestamp: Date;
  labels: Record<string, string>;
  /** The collector that produced it; `custom` for pushed samples. */
  collector: string;
}

const isLabels = (v: unknown): boolean => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  for (const k in v) if (typeof (v as Record<string, unknown>)[k] !== 'string') return false;
  return true;
};
const isInstant = (v: unknown): boolean => (v instanceof Date || typeof v === 'string') && !Number.isNaN(new Date(v).getTime());
const isSample = (v: unknown): boolean => {
  if (v === null || typeof v !== 'object') return false;
  const s = v as Record<string, unknown>;
  return typeof s.name === 'string' && typeof s.value === 'number' && isInstant(s.timestamp) && isLabels(s.labels) && typeof s.collector === 'string';
};

// Checked by hand, not by a zod object per sample: a batch carries up to 10,000 samples and the
// bus checks the payload when publishing and again on every receiving instance, which made zod
// one of the larger costs of an ingest request. Same rules, timestamps parsed back into dates.
const samples = z
  .custom<(Omit<SampledMetric, 'timestamp'> & { timestamp: Date | string })[]>((v) => Array.isArray(v) && v.every(isSample), 'samples: each a { name, value, timestamp, labels, collector }')
  .transform((list): SampledMetric[] => list.map((s) => (s.timestamp instanceof Date ? (s as SampledMetric) : { ...s, timestamp: new Date(s.timestamp) })));

/**
 * Samples the metrics store accepted, one event per accepted batch: what live subscribers
 * (`metricUpdated`, the `/ws` `metrics` channel) of every instance receive.
 */
export const METRIC_SAMPLED = defineEvent('metric:sampled', z.object({ samples }));

const metricEvent = z.object({
  id: z.string(),
  /** The seed's event type: `api_request`, `websocket_connection`, `gateway_check`, ... */
  type: z.string(),
  data: z.record(z.string(), z.unknown()),
  timestamp: z.coerce.date(),
});

/** A business or API event recorded through `POST /api/v1/metrics/events` or `recordEvent`: the `/ws` `events` channel carries it. */
export const METRIC_EVENT = defineEvent('metric:event', metricEvent);
export type MetricEventRecord = z.output<typeof metricEvent>;

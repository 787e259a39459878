import { z } from 'zod';
import { defineEvent } from '../../infra/events.js';

const sample = z.object({
  name: z.string(),
  value: z.number(),
  timestamp: z.coerce.date(),
  labels: z.record(z.string(), z.string()),
  /** The collector that produced it; `custom` for pushed samples. */
  collector: z.string(),
});

/**
 * Samples the metrics store accepted, one event per accepted batch: what live subscribers
 * (`metricUpdated`, the `/ws` `metrics` channel) of every instance receive.
 */
export const METRIC_SAMPLED = defineEvent('metric:sampled', z.object({ samples: z.array(sample) }));
export type SampledMetric = z.output<typeof sample>;

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

import { z } from 'zod';
import { defineChannel, type AnyLiveChannel } from '../../http/channels.js';
import type { OpsEvent } from '../../infra/events.js';
import { metricMatcher } from '../../lib/metric-filter.js';
import { OPS_EVENTS, OPS_EVENT_TYPES } from '../events/events.types.js';
import { METRIC_SAMPLED, type SampledMetric } from '../metrics/metrics.events.js';
import { ALERT_CHANGED } from '../alerts/alerts.events.js';
import { HEALTH_CHANGED } from '../health/health.events.js';
import { SLA_ALERT } from '../sla/sla.events.js';

/** Bounds of a metric filter, the same on `/ws` and `metricUpdated`: a subscriber cannot make matching costly. */
export const METRIC_FILTER_LIMITS = { entries: 100, collectorLength: 100, nameLength: 200 } as const;

const list = (max: number) => z.array(z.string().min(1).max(max)).max(METRIC_FILTER_LIMITS.entries);

const metricFilters = z
  .strictObject({ collectors: list(METRIC_FILTER_LIMITS.collectorLength).optional(), names: list(METRIC_FILTER_LIMITS.nameLength).optional() })
  .transform(metricMatcher);

const eventFilters = z.strictObject({
  types: z
    .array(z.string())
    .max(OPS_EVENT_TYPES.length)
    .refine((types) => types.every((t) => OPS_EVENT_TYPES.includes(t)), { message: `known types: ${OPS_EVENT_TYPES.join(', ')}` }),
});

/** One sample as `/ws` pushes it and `metricUpdated` delivers it. */
export const metricSamples = (event: OpsEvent): SampledMetric[] => (event.payload as { samples: SampledMetric[] }).samples;

/**
 * The `/ws` channels and the bus events that feed each, in one table (the transport is
 * http/channels.ts). A domain that adds an event for a channel adds its definition to that
 * channel's `events` here.
 */
export const LIVE_CHANNELS: readonly AnyLiveChannel[] = [
  defineChannel({
    name: 'metrics',
    push: 'metric',
    events: [METRIC_SAMPLED],
    data: metricSamples,
    filters: metricFilters,
    matches: (match, sample) => match(sample),
  }),
  defineChannel({
    name: 'events',
    push: 'event',
    events: OPS_EVENTS,
    data: (event) => [{ type: event.type, payload: event.payload, timestamp: event.timestamp }],
    filters: eventFilters,
    matches: (filters, datum) => filters.types.includes(datum.type),
  }),
  defineChannel({ name: 'alerts', push: 'alert', events: [SLA_ALERT, ALERT_CHANGED], data: (event) => [event.payload] }),
  defineChannel({ name: 'health', push: 'health', events: [HEALTH_CHANGED], data: (event) => [event.payload] }),
];

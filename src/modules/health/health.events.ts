import { z } from 'zod';
import { defineEvent, type EventPayload } from '../../infra/events.js';
import { HEALTH_STATUSES, HEALTH_SYSTEMS } from '../../lib/health.js';

const status = z.enum(HEALTH_STATUSES);

/**
 * A system's health status changed (or its first result was not healthy): written to the outbox in
 * the transaction that stores the result, so alerting can raise or resolve a `HEALTH` alert even
 * when Redis was away at that moment. `details` are the check's readings.
 */
export const HEALTH_CHANGED = defineEvent(
  'health:changed',
  z.object({
    system: z.enum(HEALTH_SYSTEMS),
    /** null: the system had no result before. */
    previousStatus: status.nullable(),
    status,
    message: z.string(),
    details: z.record(z.string(), z.unknown()),
    /** The stored result that made the change (`GET /api/v1/health/history`). */
    checkId: z.uuid(),
    at: z.coerce.date(),
  }),
);
export type HealthChangedEvent = EventPayload<typeof HEALTH_CHANGED>;

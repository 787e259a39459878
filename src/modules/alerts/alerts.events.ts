import { z } from 'zod';
import { defineEvent, type EventPayload } from '../../infra/events.js';
import type { SameType } from '../../lib/same-type.js';
import type { AlertRecord } from './alerts.records.js';

/** The alerts module's event: an alert as it is after a change (a transition, an acknowledgement). */

export const ALERT_STATES = ['PENDING', 'FIRING', 'RESOLVED'] as const;
export const ALERT_SOURCES = ['RULE', 'MANUAL', 'SLA', 'BACKUP', 'HEALTH', 'NODE'] as const;
export type AlertState = (typeof ALERT_STATES)[number];
export type AlertSource = (typeof ALERT_SOURCES)[number];

const date = z.coerce.date();
const alertRecord = z.object({
  id: z.string(),
  fingerprint: z.string(),
  source: z.enum(ALERT_SOURCES),
  ruleId: z.string().nullable(),
  ruleName: z.string().nullable(),
  status: z.enum(ALERT_STATES),
  severity: z.string(),
  title: z.string(),
  message: z.string(),
  labels: z.record(z.string(), z.string()),
  value: z.number().nullable(),
  threshold: z.number().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  activeAt: date,
  firedAt: date.nullable(),
  resolvedAt: date.nullable(),
  acknowledgedAt: date.nullable(),
  acknowledgedBy: z.string().nullable(),
  acknowledgeNote: z.string().nullable(),
  resolvedBy: z.string().nullable(),
  resolutionNotes: z.string().nullable(),
  suppressedBy: z.string().nullable(),
  version: z.number(),
  createdAt: date,
  updatedAt: date,
});

/**
 * Written to the outbox in the transaction of the change: the relay publishes it (alertChanged,
 * opsEvents, the /ws channel alerts) and starts the notification routing job of each transition.
 * `previousStatus` equals `alert.status` for a change that is not a transition (an acknowledgement).
 */
export const ALERT_CHANGED = defineEvent('alert:changed', z.object({ alert: alertRecord, previousStatus: z.enum(ALERT_STATES).nullable(), at: date }));
export type AlertChangedEvent = EventPayload<typeof ALERT_CHANGED>;

const alertMirrors: SameType<z.output<typeof alertRecord>, AlertRecord> = true;
void alertMirrors;

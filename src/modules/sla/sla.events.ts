import { z } from 'zod';
import { defineEvent, type EventPayload } from '../../infra/events.js';
import { SERVICE_STATUSES } from '../../lib/status-history.js';
import type { SameType } from '../../lib/same-type.js';
import type { IncidentRecord } from './sla.incidents.js';
import type { ServiceRecord } from './sla.records.js';

/** The SLA module's events: its public contract for other modules and for subscribers. */

const date = z.coerce.date();
const status = z.enum(SERVICE_STATUSES);

const serviceRecord = z.object({
  id: z.string(),
  serviceName: z.string(),
  displayName: z.string().nullable(),
  nodeId: z.string(),
  namespace: z.string().nullable(),
  status,
  replicas: z.number().nullable(),
  readyReplicas: z.number().nullable(),
  workloadType: z.string().nullable(),
  criticality: z.string().nullable(),
  lastSeenAt: date.nullable(),
  slaGroupId: z.string().nullable(),
  backupStatus: z.object({
    backupExpected: z.boolean(),
    lastBackupAt: date.nullable(),
    lastBackupStatus: z.enum(['success', 'failed', 'partial']).nullable(),
    backupMaxAgeDays: z.number(),
    backupOverdue: z.boolean(),
    lastSuccessAt: date.nullable(),
    lastVerifiedAt: date.nullable(),
    maxVerifiedAgeDays: z.number().nullable(),
  }),
});

const incidentRecord = z.object({ id: z.string(), serviceId: z.string(), slaGroupId: z.string().nullable(), startedAt: date, endedAt: date.nullable() });

/** A service's current status really changed (not every sync; not a late report that leaves the present as it was). */
export const STATUS_CHANGED = defineEvent(
  'service:status_changed',
  z.object({ service: serviceRecord, previousStatus: status.nullable(), status, observedAt: date }),
);

/** An incident opened or closed (one a late report revises away is announced CLOSED). */
export const SLA_INCIDENT = defineEvent('sla:incident', z.object({ incident: incidentRecord, action: z.enum(['OPENED', 'CLOSED']) }));

/** An error budget entered AT_RISK or BREACHED, or a backup became overdue or fresh again. */
export const SLA_ALERT = defineEvent(
  'sla:alert',
  z.object({
    scope: z.enum(['SERVICE', 'GROUP', 'BACKUP']),
    serviceId: z.string().nullable(),
    slaGroupId: z.string().nullable(),
    status: z.string(),
    message: z.string(),
    at: date,
  }),
);

export type StatusChangedEvent = EventPayload<typeof STATUS_CHANGED>;
export type IncidentEvent = EventPayload<typeof SLA_INCIDENT>;
export type SlaAlertEvent = EventPayload<typeof SLA_ALERT>;

// The payload schemas mirror the records the services build: a field added to one must be added to the other.
const serviceMirrors: SameType<z.output<typeof serviceRecord>, ServiceRecord> = true;
const incidentMirrors: SameType<z.output<typeof incidentRecord>, IncidentRecord> = true;
void [serviceMirrors, incidentMirrors];

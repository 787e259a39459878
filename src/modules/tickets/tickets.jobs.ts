import { z } from 'zod';
import { defineJob } from '../../infra/jobs.js';
import type { TicketsService } from './tickets.service.js';

const instant = z.union([z.string(), z.date()]);

/** sla:incident, as the automatic-ticket job receives it from the outbox: which row it came from and when that was written. */
export const incidentNotice = z.object({
  action: z.enum(['OPENED', 'CLOSED']),
  incident: z.object({ id: z.uuid(), serviceId: z.uuid(), slaGroupId: z.uuid().nullable(), startedAt: instant, endedAt: instant.nullable() }),
  raisedAt: z.coerce.date(),
  // The outbox row; absent only on jobs enqueued by a version before the outbox.
  eventId: z.string().regex(/^\d+$/).optional(),
});

export function ticketJobs(tickets: Pick<TicketsService, 'onIncident'>) {
  return {
    incidentTicket: defineJob({
      name: 'tickets.incident-ticket',
      queue: 'tickets',
      payload: incidentNotice,
      // One job per outbox row: a row relayed again (a relay that died before marking it done)
      // enqueues nothing new, and a later close or re-open of the same incident is a row, and a job, of its own.
      jobId: (n) => `incident-ticket-${n.incident.id}-${n.action}-${n.eventId ?? n.raisedAt.getTime()}`,
      handler: (notice) => tickets.onIncident(notice),
    }),
  };
}

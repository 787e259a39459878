import { z } from 'zod';
import { defineJob } from '../../infra/jobs.js';
import type { TicketsService } from './tickets.service.js';

const instant = z.union([z.string(), z.date()]);

/** sla:incident, as the automatic-ticket job receives it, with the instant the event was raised. */
export const incidentNotice = z.object({
  action: z.enum(['OPENED', 'CLOSED']),
  incident: z.object({ id: z.uuid(), serviceId: z.uuid(), slaGroupId: z.uuid().nullable(), startedAt: instant, endedAt: instant.nullable() }),
  raisedAt: z.coerce.date(),
});

export function ticketJobs(tickets: Pick<TicketsService, 'onIncident'>) {
  return {
    incidentTicket: defineJob({
      name: 'tickets.incident-ticket',
      queue: 'tickets',
      payload: incidentNotice,
      // The same id from every instance that heard the event: one job per event, and a later close
      // or re-open of the same incident (another event, another instant) is a job of its own.
      jobId: (n) => `incident-ticket-${n.incident.id}-${n.action}-${n.raisedAt.getTime()}`,
      handler: (notice) => tickets.onIncident(notice),
    }),
  };
}

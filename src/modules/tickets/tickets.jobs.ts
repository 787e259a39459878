import { z } from 'zod';
import { defineJob } from '../../infra/jobs.js';
import { SLA_INCIDENT } from '../sla/sla.events.js';
import type { TicketsService } from './tickets.service.js';

/** sla:incident (its own contract), as the automatic-ticket job receives it from the outbox: which row it came from and when that was written. */
export const incidentNotice = SLA_INCIDENT.schema.extend({
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

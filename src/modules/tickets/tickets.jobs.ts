import { z } from 'zod';
import { defineJob } from '../../infra/jobs.js';
import type { TicketsService } from './tickets.service.js';

const instant = z.union([z.string(), z.date()]);

/** sla:incident, as the automatic-ticket job receives it. */
export const incidentNotice = z.object({
  action: z.enum(['OPENED', 'CLOSED']),
  incident: z.object({ id: z.uuid(), serviceId: z.uuid(), slaGroupId: z.uuid().nullable(), startedAt: instant, endedAt: instant.nullable() }),
});

export function ticketJobs(tickets: Pick<TicketsService, 'onIncident'>) {
  return {
    incidentTicket: defineJob({
      name: 'tickets.incident-ticket',
      queue: 'tickets',
      payload: incidentNotice,
      handler: (notice) => tickets.onIncident(notice),
    }),
  };
}

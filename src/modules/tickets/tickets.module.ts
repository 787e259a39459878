import { defineModule } from '../module.js';
import type { LicenseGuard } from '../licenses/licenses.service.js';
import { SLA_INCIDENT } from '../sla/sla.events.js';
import { slaModule } from '../sla/sla.module.js';
import { ticketJobs } from './tickets.jobs.js';
import { TicketCommentLinks, TicketLinks } from './tickets.links.js';
import { TicketsResolver } from './tickets.resolver.js';
import { createTicketsService, type TicketsService } from './tickets.service.js';

/**
 * Tickets (plugin ticketing), and the automatic ticket of an incident in a critical SLA group:
 * every instance that hears sla:incident on the bus enqueues one job per incident and action with
 * a deterministic jobId, so the ticket is written once, by a worker, however many instances heard it.
 */
export const ticketsModule = defineModule<{ tickets: TicketsService; licenses: LicenseGuard }>({
  name: 'tickets',
  resolvers: [TicketsResolver, TicketLinks, TicketCommentLinks],
  create({ db, clock, events, logger, licenses, audit, jobs, config, servicesOf }) {
    const { fleet } = servicesOf(slaModule);
    const tickets = createTicketsService({ db, clock, events, logger, licenses, audit, fleet, autoIncidentTickets: config.AUTO_INCIDENT_TICKETS });
    const defs = ticketJobs(tickets);
    let listener: { stop(): Promise<void> } | undefined;
    return {
      services: { tickets, licenses },
      jobs: Object.values(defs),
      async onStart() {
        if (!config.AUTO_INCIDENT_TICKETS) return;
        listener = events.listen([SLA_INCIDENT], async (event) => {
          const { action, incident } = event.payload;
          await jobs
            .enqueue(defs.incidentTicket, { action, incident, raisedAt: event.timestamp })
            .catch((err: unknown) => logger.warn({ err: (err as Error).message, incidentId: incident.id }, 'could not enqueue the incident ticket job'));
        });
      },
      async onStop() {
        await listener?.stop();
      },
    };
  },
});

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
 * sla:incident is written to the outbox with the incident, and the outbox relay enqueues
 * `tickets.incident-ticket` for each such event (its jobId follows from the outbox row), so the
 * ticket is written once, by a worker, even when the incident opened while Redis was away.
 */
export const ticketsModule = defineModule<{ tickets: TicketsService; licenses: LicenseGuard }>({
  name: 'tickets',
  resolvers: [TicketsResolver, TicketLinks, TicketCommentLinks],
  create({ db, clock, events, outbox, logger, licenses, audit, config, servicesOf }) {
    const { fleet } = servicesOf(slaModule);
    const tickets = createTicketsService({ db, clock, events, logger, licenses, audit, fleet, autoIncidentTickets: config.AUTO_INCIDENT_TICKETS });
    const defs = ticketJobs(tickets);
    // The relay of whichever process takes the row enqueues the job: set AUTO_INCIDENT_TICKETS alike everywhere.
    if (config.AUTO_INCIDENT_TICKETS) {
      outbox.on(SLA_INCIDENT, defs.incidentTicket, ({ action, incident }, row) => ({ action, incident, raisedAt: row.createdAt, eventId: row.id }));
    }
    return {
      services: { tickets, licenses },
      jobs: Object.values(defs),
    };
  },
});

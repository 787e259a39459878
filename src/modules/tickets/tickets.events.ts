import { z } from 'zod';
import { defineEvent } from '../../infra/events.js';
import type { SameType } from '../../lib/same-type.js';
import type { TicketRecord } from './tickets.service.js';

/** The tickets module's events: a ticket as it is after the change (as it was, for a deletion). */

export const TICKET_STATUSES = ['OPEN', 'IN_PROGRESS', 'RESOLVED', 'CLOSED'] as const;
export type TicketStatus = (typeof TICKET_STATUSES)[number];
export const TICKET_PRIORITIES = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type TicketPriority = (typeof TICKET_PRIORITIES)[number];

const date = z.coerce.date();
const ticketRecord = z.object({
  id: z.string(),
  title: z.string(),
  description: z.string().nullable(),
  status: z.enum(TICKET_STATUSES),
  priority: z.enum(TICKET_PRIORITIES),
  assigneeId: z.string().nullable(),
  createdById: z.string().nullable(),
  serviceId: z.string().nullable(),
  incidentId: z.string().nullable(),
  alertIds: z.array(z.string()),
  automatic: z.boolean(),
  createdAt: date,
  updatedAt: date,
  resolvedAt: date.nullable(),
  closedAt: date.nullable(),
  comments: z.array(z.object({ id: z.string(), authorId: z.string().nullable(), body: z.string(), createdAt: date })),
});

export const TICKET_CREATED = defineEvent('ticket:created', ticketRecord);
export const TICKET_UPDATED = defineEvent('ticket:updated', ticketRecord);
export const TICKET_DELETED = defineEvent('ticket:deleted', ticketRecord);

const ticketMirrors: SameType<z.output<typeof ticketRecord>, TicketRecord> = true;
void ticketMirrors;

import { sqlOf } from '../../infra/sql.js';
import { TICKET_CREATED, TICKET_DELETED, TICKET_UPDATED, type TicketPriority, type TicketStatus } from './tickets.events.js';
import type { Prisma } from '../../generated/prisma/client.js';
import type { Clock } from '../../infra/clock.js';
import type { EventBus } from '../../infra/events.js';
import type { Logger } from '../../infra/logger.js';
import type { Database } from '../../infra/prisma.js';
import { AppError } from '../../lib/errors.js';
import { assertUuid } from '../../lib/ids.js';
import { pageInfo, resolvePage, type Page, type PageRequest } from '../../lib/pagination.js';
import { systemActor, type AuditActor } from '../../auth/actor.js';
import { type AuditRecorder } from '../../infra/audit-recorder.js';
import type { LicenseGuard } from '../licenses/licenses.service.js';
import type { IncidentEvent } from '../sla/sla.events.js';
import type { FleetService } from '../sla/sla.fleet.js';


export interface TicketCommentRecord {
  id: string;
  authorId: string | null;
  body: string;
  createdAt: Date;
}

export interface TicketRecord {
  id: string;
  title: string;
  description: string | null;
  status: TicketStatus;
  priority: TicketPriority;
  assigneeId: string | null;
  createdById: string | null;
  serviceId: string | null;
  incidentId: string | null;
  alertIds: string[];
  /** Opened by the system for an incident of a critical SLA group. */
  automatic: boolean;
  createdAt: Date;
  updatedAt: Date;
  resolvedAt: Date | null;
  closedAt: Date | null;
  comments: TicketCommentRecord[];
}

export interface TicketFilter {
  status?: TicketStatus | null;
  priority?: TicketPriority | null;
  assigneeId?: string | null;
  serviceId?: string | null;
  incidentId?: string | null;
  /** Case-insensitive substring of the title. */
  search?: string | null;
}

export interface CreateTicket {
  title: string;
  description?: string | null;
  priority?: TicketPriority | null;
  serviceId?: string | null;
  incidentId?: string | null;
  assigneeId?: string | null;
  alertIds?: string[] | null;
}

/** `undefined`: leave as it is; `null` (where allowed): clear it. */
export interface UpdateTicket {
  title?: string | null;
  description?: string | null;
  status?: TicketStatus | null;
  priority?: TicketPriority | null;
  assigneeId?: string | null;
  serviceId?: string | null;
  incidentId?: string | null;
  alertIds?: string[] | null;
}

/** The automatic ticket's view of an incident (the payload of sla:incident). */
/** An incident notice as the ticket job hands it over (tickets.jobs.ts). */
export type IncidentNotice = Pick<IncidentEvent, 'action' | 'incident'>;

/** The ticket's own rows; GraphQL follows its links (assignee, service, authors) through loaders. */
const include = {
  comments: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] },
} as const satisfies Prisma.TicketInclude;

type TicketRow = Prisma.TicketGetPayload<{ include: typeof include }>;

function toRecord(r: TicketRow): TicketRecord {
  const { autoIncidentId, comments, ...rest } = r;
  return { ...rest, automatic: autoIncidentId !== null, comments: comments.map((c) => ({ id: c.id, authorId: c.authorId, body: c.body, createdAt: c.createdAt })) };
}

/** The user behind a change, when a person made it (an automatic ticket has no creator). */
const userOf = (actor: AuditActor) => (actor.type === 'USER' ? actor.id : null);

/** When a status change closes or reopens a ticket, its resolvedAt/closedAt follow. */
function statusStamps(status: TicketStatus, now: Date, resolvedBefore: Date | null = null) {
  return {
    // Closing a resolved ticket keeps when it was resolved.
    resolvedAt: status === 'RESOLVED' || status === 'CLOSED' ? (status === 'CLOSED' && resolvedBefore ? resolvedBefore : now) : null,
    closedAt: status === 'CLOSED' ? now : null,
  };
}

export function createTicketsService(deps: {
  db: Database;
  clock: Clock;
  events: EventBus;
  logger: Logger;
  licenses: LicenseGuard;
  audit: AuditRecorder;
  /** The SLA module, asked about the services and incidents that tickets link to. */
  fleet: Pick<FleetService, 'serviceExists' | 'incidentExists' | 'incidentSubject' | 'incidentIsOpen'>;
  autoIncidentTickets: boolean;
}) {
  const { db, clock, licenses } = deps;

  /** Links must point at something that exists; each refusal names its field. */
  async function checkLinks(input: { serviceId?: string | null; incidentId?: string | null; assigneeId?: string | null }): Promise<void> {
    const checks: Promise<void>[] = [];
    if (input.serviceId) {
      const id = assertUuid(input.serviceId, 'serviceId');
      checks.push(deps.fleet.serviceExists(id).then((found) => void (found || fail('serviceId', `no service with id ${id}`))));
    }
    if (input.incidentId) {
      const id = assertUuid(input.incidentId, 'incidentId');
      checks.push(deps.fleet.incidentExists(id).then((found) => void (found || fail('incidentId', `no incident with id ${id}`))));
    }
    if (input.assigneeId) {
      const id = assertUuid(input.assigneeId, 'assigneeId');
      checks.push(db.user.count({ where: { id, disabled: false } }).then((n) => void (n || fail('assigneeId', `no active user with id ${id}`))));
    }
    await Promise.all(checks);
  }

  const fail = (field: string, message: string): never => {
    throw new AppError('BAD_USER_INPUT', message, { field });
  };

  async function find(id: string): Promise<TicketRecord> {
    const row = await db.ticket.findUnique({ where: { id: assertUuid(id) }, include });
    if (!row) throw new AppError('NOT_FOUND', `no ticket with id ${id}`, { field: 'id' });
    return toRecord(row);
  }

  return {
    async list(filter: TicketFilter | null | undefined, page: PageRequest | null | undefined): Promise<Page<TicketRecord>> {
      await licenses.require('ticketing');
      const p = resolvePage(page, ['createdAt', 'updatedAt', 'priority', 'status', 'title'] as const, 'createdAt');
      const where: Prisma.TicketWhereInput = {
        ...(filter?.status ? { status: filter.status } : {}),
        ...(filter?.priority ? { priority: filter.priority } : {}),
        ...(filter?.assigneeId ? { assigneeId: assertUuid(filter.assigneeId, 'filter.assigneeId') } : {}),
        ...(filter?.serviceId ? { serviceId: assertUuid(filter.serviceId, 'filter.serviceId') } : {}),
        ...(filter?.incidentId ? { incidentId: assertUuid(filter.incidentId, 'filter.incidentId') } : {}),
        ...(filter?.search ? { title: { contains: filter.search, mode: 'insensitive' as const } } : {}),
      };
      const [rows, total] = await db.$transaction([
        db.ticket.findMany({ where, include, orderBy: [{ [p.sort]: p.order }, { id: 'asc' }], skip: p.skip, take: p.take }),
        db.ticket.count({ where }),
      ]);
      return { items: rows.map(toRecord), pageInfo: pageInfo(total, p.page, p.limit) };
    },

    async get(id: string): Promise<TicketRecord> {
      await licenses.require('ticketing');
      return find(id);
    },

    async create(input: CreateTicket, actor: AuditActor): Promise<TicketRecord> {
      await licenses.require('ticketing');
      await checkLinks(input);
      const now = clock.now();
      const ticket = await db.$transaction(async (tx) => {
        const row = toRecord(
          await tx.ticket.create({
            data: {
              title: input.title,
              description: input.description ?? null,
              priority: input.priority ?? 'MEDIUM',
              serviceId: input.serviceId ?? null,
              incidentId: input.incidentId ?? null,
              assigneeId: input.assigneeId ?? null,
              alertIds: input.alertIds ?? [],
              createdById: userOf(actor),
              createdAt: now,
              updatedAt: now,
            },
            include,
          }),
        );
        await deps.audit.record(tx, actor, { action: 'ticket.create', resourceType: 'ticket', resourceId: row.id, after: row });
        return row;
      });
      await deps.events.publish(TICKET_CREATED, ticket);
      return ticket;
    },

    async update(id: string, input: UpdateTicket, actor: AuditActor): Promise<TicketRecord> {
      await licenses.require('ticketing');
      assertUuid(id);
      await checkLinks(input);
      if (input.title === null) fail('title', 'title cannot be cleared');
      const now = clock.now();
      const ticket = await db.$transaction(async (tx) => {
        // Locked, so the before image in the audit log is the one this update replaced.
        await sqlOf(tx).query('SELECT 1 FROM "Ticket" WHERE id = $1::uuid FOR UPDATE', [id]);
        const old = await tx.ticket.findUnique({ where: { id }, include });
        if (!old) throw new AppError('NOT_FOUND', `no ticket with id ${id}`, { field: 'id' });
        const status = input.status ?? undefined;
        const data: Prisma.TicketUncheckedUpdateInput = {
          ...(input.title != null ? { title: input.title } : {}),
          ...(input.description !== undefined ? { description: input.description } : {}),
          ...(status ? { status } : {}),
          ...(status && status !== old.status ? statusStamps(status, now, old.resolvedAt) : {}),
          ...(input.priority ? { priority: input.priority } : {}),
          ...(input.assigneeId !== undefined ? { assigneeId: input.assigneeId } : {}),
          ...(input.serviceId !== undefined ? { serviceId: input.serviceId } : {}),
          ...(input.incidentId !== undefined ? { incidentId: input.incidentId } : {}),
          ...(input.alertIds != null ? { alertIds: input.alertIds } : {}),
          updatedAt: now,
        };
        const row = toRecord(await tx.ticket.update({ where: { id }, data, include }));
        await deps.audit.record(tx, actor, { action: 'ticket.update', resourceType: 'ticket', resourceId: id, before: toRecord(old), after: row });
        return row;
      });
      await deps.events.publish(TICKET_UPDATED, ticket);
      return ticket;
    },

    async remove(id: string, actor: AuditActor): Promise<boolean> {
      await licenses.require('ticketing');
      assertUuid(id);
      // Only the delete that removed the row announces it: two deletes at once make one event.
      const gone = await db.$transaction(async (tx) => {
        const row = await tx.ticket.findUnique({ where: { id }, include });
        if (!row) return null;
        const { count } = await tx.ticket.deleteMany({ where: { id } });
        if (count) await deps.audit.record(tx, actor, { action: 'ticket.delete', resourceType: 'ticket', resourceId: id, before: toRecord(row) });
        return count ? row : null;
      });
      if (!gone) throw new AppError('NOT_FOUND', `no ticket with id ${id}`, { field: 'id' });
      await deps.events.publish(TICKET_DELETED, toRecord(gone));
      return true;
    },

    async addComment(id: string, body: string, actor: AuditActor): Promise<TicketRecord> {
      await licenses.require('ticketing');
      assertUuid(id);
      const now = clock.now();
      const row = await db.$transaction(async (tx) => {
        const { count } = await tx.ticket.updateMany({ where: { id }, data: { updatedAt: now } });
        if (!count) throw new AppError('NOT_FOUND', `no ticket with id ${id}`, { field: 'id' });
        const comment = await tx.ticketComment.create({ data: { ticketId: id, authorId: userOf(actor), body, createdAt: now } });
        await deps.audit.record(tx, actor, { action: 'ticket.comment', resourceType: 'ticket', resourceId: id, after: { commentId: comment.id, body } });
        return tx.ticket.findUniqueOrThrow({ where: { id }, include });
      });
      const ticket = toRecord(row);
      await deps.events.publish(TICKET_UPDATED, ticket);
      return ticket;
    },

    /**
     * The automatic ticket of an incident in a `critical` SLA group: opened with the incident,
     * closed with it. Keyed by the incident (a unique column), so any number of instances or
     * retries make one ticket; a notice handled when its incident has already closed makes the
     * ticket closed at once.
     */
    async onIncident(notice: IncidentNotice): Promise<'created' | 'closed' | 'reopened' | 'skipped'> {
      if (!deps.autoIncidentTickets || !notice.incident.slaGroupId) return 'skipped';
      if (!(await licenses.has('ticketing'))) return 'skipped';
      const { incident } = notice;
      const { group, service } = await deps.fleet.incidentSubject(incident);
      if (!group || group.tier !== 'critical') return 'skipped';
      const now = clock.now();
      // The notice says which incident; what to do follows from that incident as it is now, so
      // notices handled out of order (a job retried after a later one ran) end where in-order ones would.
      const closed = !(await deps.fleet.incidentIsOpen(incident.id));
      const startedAt = new Date(incident.startedAt);
      const actor = systemActor('tickets.incident');
      const created = await db.$transaction(async (tx) => {
        const [row] = await tx.ticket.createManyAndReturn({
          data: [
            {
              title: `Incident: ${service?.name ?? incident.serviceId} is down (${group.displayName})`,
              description: `Opened automatically: ${service ? `${service.name} on ${service.nodeId}` : `service ${incident.serviceId}`} went down at ${startedAt.toISOString()} in the critical SLA group ${group.displayName}. It closes when the incident does.`,
              priority: 'CRITICAL',
              serviceId: service?.id ?? null,
              incidentId: incident.id,
              autoIncidentId: incident.id,
              createdAt: now,
              updatedAt: now,
              ...(closed ? { status: 'CLOSED' as const, ...statusStamps('CLOSED', now) } : {}),
            },
          ],
          skipDuplicates: true,
          select: { id: true },
        });
        if (!row) return null;
        const ticket = await tx.ticket.findUniqueOrThrow({ where: { id: row.id }, include });
        await deps.audit.record(tx, actor, { action: 'ticket.create', resourceType: 'ticket', resourceId: row.id, after: toRecord(ticket) });
        return ticket;
      });
      if (created) {
        await deps.events.publish(TICKET_CREATED, toRecord(created));
        return 'created';
      }
      if (!closed) {
        // Re-opened by a late report: its ticket, closed with it, opens again.
        const reopened = await db.$transaction(async (tx) => {
          const { count } = await tx.ticket.updateMany({ where: { autoIncidentId: incident.id, status: 'CLOSED' }, data: { status: 'OPEN', resolvedAt: null, closedAt: null, updatedAt: now } });
          if (!count) return null;
          const after = await tx.ticket.findUniqueOrThrow({ where: { autoIncidentId: incident.id }, include });
          await deps.audit.record(tx, actor, { action: 'ticket.update', resourceType: 'ticket', resourceId: after.id, after: { status: 'OPEN' } });
          return after;
        });
        if (!reopened) return 'skipped';
        await deps.events.publish(TICKET_UPDATED, toRecord(reopened));
        return 'reopened';
      }
      // Only the statement that closes it announces it.
      const row = await db.$transaction(async (tx) => {
        const { count } = await tx.ticket.updateMany({
          where: { autoIncidentId: incident.id, status: { not: 'CLOSED' } },
          data: { status: 'CLOSED', ...statusStamps('CLOSED', now), updatedAt: now },
        });
        if (!count) return null;
        const after = await tx.ticket.findUniqueOrThrow({ where: { autoIncidentId: incident.id }, include });
        await deps.audit.record(tx, actor, { action: 'ticket.update', resourceType: 'ticket', resourceId: after.id, after: { status: 'CLOSED', closedAt: now } });
        return after;
      });
      if (!row) return 'skipped';
      await deps.events.publish(TICKET_UPDATED, toRecord(row));
      return 'closed';
    },
  };
}

export type TicketsService = ReturnType<typeof createTicketsService>;

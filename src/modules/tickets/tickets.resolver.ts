import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.js';
import { PageInput } from '../../graphql/pagination.js';
import type { Page } from '../../lib/pagination.js';
import { actorOf } from '../../auth/actor.js';
import type { LicenseGuard } from '../licenses/licenses.service.js';
import { TICKET_CREATED, TICKET_DELETED, TICKET_UPDATED } from './tickets.events.js';
import type { TicketRecord, TicketsService } from './tickets.service.js';
import { AddTicketCommentInput, CreateTicketInput, TicketFilter, TicketPage, TicketType, UpdateTicketInput } from './tickets.types.js';

/** Every field belongs to the ticketing plugin: the service checks the license on each call. */
@Resolver()
export class TicketsResolver {
  private readonly service: TicketsService;
  private readonly licenses: LicenseGuard;

  constructor(services: { tickets: TicketsService; licenses: LicenseGuard }) {
    this.service = services.tickets;
    this.licenses = services.licenses;
  }

  /** A subscriber hears ticket events only while the plugin is licensed. */
  private async live(event: TicketRecord): Promise<TicketRecord> {
    await this.licenses.require('ticketing');
    return event;
  }

  @Authorized('VIEWER')
  @Query(() => TicketPage, { description: 'Tickets, newest first by default (sort: createdAt, updatedAt, priority, status, title).' })
  tickets(
    @Arg('filter', () => TicketFilter, { nullable: true }) filter?: TicketFilter,
    @Arg('page', () => PageInput, { nullable: true }) page?: PageInput,
  ): Promise<Page<TicketRecord>> {
    return this.service.list(filter, page);
  }

  @Authorized('VIEWER')
  @Query(() => TicketType)
  ticket(@Arg('id', () => ID) id: string): Promise<TicketRecord> {
    return this.service.get(id);
  }

  @Authorized('OPERATOR')
  @Mutation(() => TicketType)
  createTicket(@Arg('input') input: CreateTicketInput, @Ctx() ctx: GraphQLContext): Promise<TicketRecord> {
    return this.service.create(input, actorOf(ctx));
  }

  @Authorized('OPERATOR')
  @Mutation(() => TicketType)
  updateTicket(@Arg('id', () => ID) id: string, @Arg('input') input: UpdateTicketInput, @Ctx() ctx: GraphQLContext): Promise<TicketRecord> {
    return this.service.update(id, input, actorOf(ctx));
  }

  @Authorized('OPERATOR')
  @Mutation(() => Boolean)
  deleteTicket(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    return this.service.remove(id, actorOf(ctx));
  }

  @Authorized('OPERATOR')
  @Mutation(() => TicketType, { description: 'Adds a comment by the caller; the ticket comes back with all its comments.' })
  addTicketComment(@Arg('id', () => ID) id: string, @Arg('input') input: AddTicketCommentInput, @Ctx() ctx: GraphQLContext): Promise<TicketRecord> {
    return this.service.addComment(id, input.body, actorOf(ctx));
  }

  @Authorized('VIEWER')
  @Subscription(() => TicketType, { topics: TICKET_CREATED.type, description: 'ticket:created' })
  ticketCreated(@Root() event: TicketRecord): Promise<TicketRecord> {
    return this.live(event);
  }

  @Authorized('VIEWER')
  @Subscription(() => TicketType, { topics: TICKET_UPDATED.type, description: 'ticket:updated (status, fields, assignment, comments)' })
  ticketUpdated(@Root() event: TicketRecord): Promise<TicketRecord> {
    return this.live(event);
  }

  @Authorized('VIEWER')
  @Subscription(() => TicketType, { topics: TICKET_DELETED.type, description: 'ticket:deleted, with the ticket as it was' })
  ticketDeleted(@Root() event: TicketRecord): Promise<TicketRecord> {
    return this.live(event);
  }
}

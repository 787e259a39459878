import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.js';
import { serviceById } from '../sla/sla.loaders.js';
import type { ServiceRecord } from '../sla/sla.records.js';
import { ServiceType } from '../sla/sla.types.js';
import { userSummaryById } from '../users/users.loaders.js';
import type { UserSummary } from '../users/users.service.js';
import type { TicketCommentRecord, TicketRecord } from './tickets.service.js';
import { TicketCommentType, TicketType, TicketUserType } from './tickets.types.js';

/*
 * A ticket's links, read through the owning modules' loaders: a page of tickets costs one read per
 * link whatever its length. Only a ticket that passed the ticketing plugin's check (the root field or
 * the subscription) gets here; users are shown as TicketUser (id, email) to every reader of tickets.
 */

@Resolver(() => TicketType)
export class TicketLinks {
  @FieldResolver(() => TicketUserType, { nullable: true, description: 'The user assigned; null when nobody is.' })
  assignee(@Root() ticket: TicketRecord, @Ctx() ctx: GraphQLContext): Promise<UserSummary | null> | null {
    return ticket.assigneeId ? ctx.loaders.load(userSummaryById, ticket.assigneeId) : null;
  }

  @FieldResolver(() => ServiceType, { nullable: true, description: 'The service the ticket is about; null when none.' })
  service(@Root() ticket: TicketRecord, @Ctx() ctx: GraphQLContext): Promise<ServiceRecord | null> | null {
    return ticket.serviceId ? ctx.loaders.load(serviceById, ticket.serviceId) : null;
  }
}

@Resolver(() => TicketCommentType)
export class TicketCommentLinks {
  @FieldResolver(() => TicketUserType, { nullable: true, description: 'Who wrote it; null for the system.' })
  author(@Root() comment: TicketCommentRecord, @Ctx() ctx: GraphQLContext): Promise<UserSummary | null> | null {
    return comment.authorId ? ctx.loaders.load(userSummaryById, comment.authorId) : null;
  }
}

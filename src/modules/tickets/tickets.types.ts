import { ArrayMaxSize, IsOptional, IsUUID, MaxLength, MinLength } from 'class-validator';
import { Field, ID, InputType, registerEnumType } from 'type-graphql';
import { OutputType } from '../../graphql/output-type.js';
import { Paginated } from '../../graphql/pagination.js';
import { TICKET_PRIORITIES, TICKET_STATUSES, type TicketPriority as Priority, type TicketStatus as Status } from './tickets.events.js';

export const TicketStatusEnum = Object.fromEntries(TICKET_STATUSES.map((s) => [s, s])) as { [S in Status]: S };
registerEnumType(TicketStatusEnum, { name: 'TicketStatus' });
export const TicketPriorityEnum = Object.fromEntries(TICKET_PRIORITIES.map((p) => [p, p])) as { [P in Priority]: P };
registerEnumType(TicketPriorityEnum, { name: 'TicketPriority' });

const TITLE_MAX = 200;
const TEXT_MAX = 20_000;
const ALERTS_MAX = 100;

@OutputType('TicketUser', { description: 'A user as a ticket names them: id and email, whoever reads the ticket (the rest of a user is for admins).' })
export class TicketUserType {
  @Field(() => ID) id!: string;
  @Field() email!: string;
}

@OutputType('TicketComment')
export class TicketCommentType {
  @Field(() => ID) id!: string;
  @Field(() => ID, { nullable: true, description: 'null: written by the system.' }) authorId!: string | null;
  @Field() body!: string;
  @Field() createdAt!: Date;
}

@OutputType('Ticket')
export class TicketType {
  @Field(() => ID) id!: string;
  @Field() title!: string;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field(() => TicketStatusEnum) status!: Status;
  @Field(() => TicketPriorityEnum) priority!: Priority;
  @Field(() => ID, { nullable: true }) assigneeId!: string | null;
  @Field(() => ID, { nullable: true, description: 'null: opened by the system.' }) createdById!: string | null;
  @Field(() => ID, { nullable: true }) serviceId!: string | null;
  @Field(() => ID, { nullable: true }) incidentId!: string | null;
  @Field(() => [String], { description: 'Ids of the alerts this ticket is about, as given.' }) alertIds!: string[];
  @Field({ description: 'Opened automatically for an incident of a critical SLA group; closed with it.' }) automatic!: boolean;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;
  @Field(() => Date, { nullable: true }) resolvedAt!: Date | null;
  @Field(() => Date, { nullable: true }) closedAt!: Date | null;
  @Field(() => [TicketCommentType], { description: 'Oldest first.' }) comments!: TicketCommentType[];
}

export const TicketPage = Paginated(TicketType, 'TicketPage');

@InputType()
export class TicketFilter {
  @Field(() => TicketStatusEnum, { nullable: true }) status?: Status;
  @Field(() => TicketPriorityEnum, { nullable: true }) priority?: Priority;
  @Field(() => ID, { nullable: true }) assigneeId?: string;
  @Field(() => ID, { nullable: true }) serviceId?: string;
  @Field(() => ID, { nullable: true }) incidentId?: string;
  @Field({ nullable: true, description: 'Case-insensitive part of the title.' }) @IsOptional() @MaxLength(TITLE_MAX) search?: string;
}

@InputType()
export class CreateTicketInput {
  @Field() @MinLength(1) @MaxLength(TITLE_MAX) title!: string;
  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(TEXT_MAX) description?: string | null;
  @Field(() => TicketPriorityEnum, { nullable: true, description: 'MEDIUM when not given.' }) priority?: Priority | null;
  @Field(() => ID, { nullable: true }) @IsOptional() @IsUUID() serviceId?: string | null;
  @Field(() => ID, { nullable: true }) @IsOptional() @IsUUID() incidentId?: string | null;
  @Field(() => ID, { nullable: true }) @IsOptional() @IsUUID() assigneeId?: string | null;
  @Field(() => [String], { nullable: true }) @IsOptional() @ArrayMaxSize(ALERTS_MAX) @MaxLength(100, { each: true }) alertIds?: string[] | null;
}

@InputType({ description: 'Fields left out stay as they are; null clears description, assigneeId, serviceId and incidentId.' })
export class UpdateTicketInput {
  @Field(() => String, { nullable: true }) @IsOptional() @MinLength(1) @MaxLength(TITLE_MAX) title?: string | null;
  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(TEXT_MAX) description?: string | null;
  @Field(() => TicketStatusEnum, { nullable: true }) status?: Status | null;
  @Field(() => TicketPriorityEnum, { nullable: true }) priority?: Priority | null;
  @Field(() => ID, { nullable: true }) @IsOptional() @IsUUID() assigneeId?: string | null;
  @Field(() => ID, { nullable: true }) @IsOptional() @IsUUID() serviceId?: string | null;
  @Field(() => ID, { nullable: true }) @IsOptional() @IsUUID() incidentId?: string | null;
  @Field(() => [String], { nullable: true }) @IsOptional() @ArrayMaxSize(ALERTS_MAX) @MaxLength(100, { each: true }) alertIds?: string[] | null;
}

@InputType()
export class AddTicketCommentInput {
  @Field() @MinLength(1) @MaxLength(TEXT_MAX) body!: string;
}

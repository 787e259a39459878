import { GraphQLJSON } from 'graphql-scalars';
import { Field, ID, InputType } from 'type-graphql';
import { OutputType } from '../../graphql/output-type.js';
import { Paginated } from '../../graphql/pagination.js';
import { SECURITY_EVENT_TYPES } from '../../infra/security-log.js';

@OutputType('SecurityEvent')
export class SecurityEventType {
  @Field(() => ID) id!: string;
  @Field({ description: `One of: ${SECURITY_EVENT_TYPES.join(', ')}.` }) type!: string;
  @Field(() => String, { nullable: true }) ip!: string | null;
  @Field(() => String, { nullable: true, description: 'Email, API key prefix or rate-limit key involved.' }) actor!: string | null;
  @Field(() => GraphQLJSON, { nullable: true }) details!: unknown;
  @Field() at!: Date;
}

@InputType()
export class SecurityEventFilter {
  @Field({ nullable: true }) type?: string;
  @Field({ nullable: true }) ip?: string;
  @Field({ nullable: true }) actor?: string;
  @Field({ nullable: true }) since?: Date;
}

export const SecurityEventPage = Paginated(SecurityEventType, 'SecurityEventPage');

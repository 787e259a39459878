import { Field } from 'type-graphql';
import { OutputType } from '../../graphql/output-type.js';
import { GraphQLJSON } from 'graphql-scalars';

/** The seed's event names, verbatim. */
export const OPS_EVENT_TYPES = [
  'ticket:created',
  'ticket:updated',
  'ticket:deleted',
  'sla:alert',
  'sla:incident',
  'license:updated',
  'service:status_changed',
] as const;

@OutputType('OpsEvent', { description: 'A domain event as raised on the event bus by any instance or worker.' })
export class OpsEventType {
  @Field({ description: `One of: ${OPS_EVENT_TYPES.join(', ')}.` })
  type!: string;

  @Field(() => GraphQLJSON, { nullable: true })
  payload!: unknown;

  @Field()
  timestamp!: Date;
}

import { Arg, Authorized, Resolver, Root, Subscription } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.js';
import type { OpsEvent } from '../../infra/events.js';
import { OpsEventType } from './events.types.js';

@Resolver()
export class EventsResolver {
  @Authorized('VIEWER')
  @Subscription(() => OpsEventType, {
    description: 'Every domain event, optionally only those whose `type` is listed.',
    subscribe: ({ args, context }) => (context as GraphQLContext).events.subscribe(args.types ?? undefined),
  })
  opsEvents(
    @Root() event: OpsEvent,
    @Arg('types', () => [String], { nullable: true }) _types?: string[] | null,
  ): OpsEventType {
    return { type: event.type, payload: event.payload, timestamp: new Date(event.timestamp) };
  }
}

import { Arg, Authorized, Resolver, Root, Subscription } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.js';
import type { OpsEvent } from '../../infra/events.js';
import { AppError } from '../../lib/errors.js';
import { closest } from '../../lib/suggest.js';
import { OPS_EVENTS, OPS_EVENT_TYPES, OpsEventType } from './events.types.js';

@Resolver()
export class EventsResolver {
  @Authorized('VIEWER')
  @Subscription(() => OpsEventType, {
    description: 'Every domain event, optionally only those whose `type` is listed (an unknown type is refused with BAD_USER_INPUT naming the known ones).',
    subscribe: ({ args, context }) => {
      const types = (args.types ?? undefined) as string[] | undefined;
      // A misspelt type would otherwise be accepted and silently never deliver anything.
      const unknown = types?.filter((t) => !OPS_EVENT_TYPES.includes(t)) ?? [];
      if (unknown.length) {
        const hint = closest(unknown[0]!, OPS_EVENT_TYPES);
        throw new AppError('BAD_USER_INPUT', `types: unknown event type ${unknown.map((t) => `"${t}"`).join(', ')}${hint ? ` (did you mean ${hint}?)` : ''}; known: ${OPS_EVENT_TYPES.join(', ')}`, {
          field: 'types',
          known: OPS_EVENT_TYPES,
        });
      }
      return (context as GraphQLContext).events.subscribe(OPS_EVENTS.filter((d) => !types?.length || types.includes(d.type)));
    },
  })
  opsEvents(
    @Root() event: OpsEvent,
    @Arg('types', () => [String], { nullable: true }) _types?: string[] | null,
  ): OpsEventType {
    return { type: event.type, payload: event.payload, timestamp: new Date(event.timestamp) };
  }
}

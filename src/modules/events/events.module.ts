import { defineModule } from '../module.js';
import { EventsResolver } from './events.resolver.js';

/** The live event stream; publishers are the other domains, through the event bus. */
export const eventsModule = defineModule<Record<string, never>>({
  name: 'events',
  resolvers: [EventsResolver],
  create: () => ({ services: {} }),
});

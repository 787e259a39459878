import { defineModule } from '../module.js';
import { LIVE_CHANNELS } from './live.channels.js';
import { LiveResolver } from './live.resolver.js';

/**
 * Live pushes: the `metricUpdated` subscription on `/graphql/ws` and the channels of the plain `/ws`
 * WebSocket (the table in live.channels.ts; the transport is http/channels.ts). Everything comes
 * from the event bus, so a push raised by any instance or worker reaches every instance's sockets.
 */
export const liveModule = defineModule<Record<string, never>>({
  name: 'live',
  resolvers: [LiveResolver],
  create: () => ({ services: {}, channels: LIVE_CHANNELS }),
});

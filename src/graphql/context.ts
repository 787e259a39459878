import type { Principal } from '../auth/roles.js';
import type { EventBus } from '../infra/events.js';
import type { Logger } from '../infra/logger.js';
import type { RequestLoaders } from './loaders.js';

/** What every resolver may read: who asked, from where, the event bus for subscriptions, and the batched reads of links. */
export interface GraphQLContext {
  requestId: string;
  logger: Logger;
  events: EventBus;
  principal?: Principal;
  /** Why the credential sent was refused; raised by the first field that is not PUBLIC. */
  authError?: unknown;
  ip?: string;
  /** One set per request (see loaders.ts): links read through them, a list costs what one item does. */
  loaders: RequestLoaders;
  /** Names the request in the request figures (HTTP only; see infra/runtime.ts). */
  nameRoute?: (route: string) => void;
}

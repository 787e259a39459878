import type { Principal } from '../auth/roles.js';
import type { EventBus } from '../infra/events.js';
import type { Logger } from '../infra/logger.js';

/** What every resolver may read: who asked, from where, and the event bus for subscriptions. */
export interface GraphQLContext {
  requestId: string;
  logger: Logger;
  events: EventBus;
  principal?: Principal;
  /** Why the credential sent was refused; raised by the first field that is not PUBLIC. */
  authError?: unknown;
  ip?: string;
}

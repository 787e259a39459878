import { defineModule } from '../module.js';
import { SecurityResolver } from './security.resolver.js';
import type { SecurityService } from './security.service.js';

/** The security log; it is written by src/auth and the rate limits, through the same service. */
export const securityModule = defineModule<{ security: SecurityService }>({
  name: 'security',
  resolvers: [SecurityResolver],
  create: ({ security }) => ({ services: { security } }),
});

import { defineScheduledJob } from '../../infra/jobs.js';
import { defineModule } from '../module.js';
import { SecurityResolver } from './security.resolver.js';
import type { SecurityService } from './security.service.js';

/** The security log; it is written by src/auth and the rate limits, through the same service. */
export const securityModule = defineModule<{ security: SecurityService }>({
  name: 'security',
  resolvers: [SecurityResolver],
  create: ({ security, config }) => ({
    services: { security },
    jobs: [
      defineScheduledJob({ name: 'security.prune', queue: 'security', everyMs: 86_400_000, handler: () => security.prune(config.SECURITY_EVENT_RETENTION_DAYS), keep: 10 }),
    ],
  }),
});

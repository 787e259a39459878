import { defineScheduledJob } from '../../infra/jobs.js';
import { defineModule } from '../module.js';
import { SecurityResolver } from './security.resolver.js';
import { createSecurityService, type SecurityService } from './security.service.js';

/** The security log's read side and retention; src/auth, the rate limits and the WebSocket server write it through infra/security-log.ts. */
export const securityModule = defineModule<{ security: SecurityService }>({
  name: 'security',
  resolvers: [SecurityResolver],
  create: ({ db, clock, config }) => {
    const security = createSecurityService({ db, clock });
    return {
    services: { security },
    jobs: [
      defineScheduledJob({ name: 'security.prune', queue: 'security', everyMs: 86_400_000, handler: () => security.prune(config.SECURITY_EVENT_RETENTION_DAYS), keep: 10 }),
    ],
    };
  },
});

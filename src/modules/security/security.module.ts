import { z } from 'zod';
import { defineJob } from '../../infra/jobs.js';
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
      defineJob({
        name: 'security.prune',
        queue: 'security',
        payload: z.object({}),
        handler: () => security.prune(config.SECURITY_EVENT_RETENTION_DAYS),
        schedule: { every: 86_400_000, payload: {} },
        options: { attempts: 1, removeOnComplete: { count: 10 }, removeOnFail: { count: 10 } },
      }),
    ],
  }),
});

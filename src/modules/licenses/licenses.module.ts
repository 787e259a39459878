import { defineModule } from '../module.js';
import { licenseJobs } from './licenses.jobs.js';
import { LicensesResolver } from './licenses.resolver.js';
import { licenseRoutes } from './licenses.routes.js';
import type { LicenseService } from './licenses.service.js';

/**
 * License activation, the `license` query and the expiry job. The license service itself is built
 * by the composition root, because every gated module receives it (as `deps.licenses`).
 */
export const licensesModule = defineModule<{ licenses: LicenseService }>({
  name: 'licenses',
  resolvers: [LicensesResolver],
  create: ({ licenses, config }) => ({
    services: { licenses },
    routes: [{ mount: '/api/v1', routes: licenseRoutes({ licenses }) }],
    jobs: Object.values(licenseJobs(licenses, config)),
  }),
});

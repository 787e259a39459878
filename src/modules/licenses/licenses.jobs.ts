import type { Config } from '../../config.js';
import { defineScheduledJob } from '../../infra/jobs.js';
import type { LicenseService } from './licenses.service.js';

/** Announces the warning window and the expiry once each; gating itself compares expiresAt with the clock on every call. */
export function licenseJobs(licenses: Pick<LicenseService, 'checkExpiry'>, config: Pick<Config, 'LICENSE_CHECK_SECONDS'>) {
  return {
    checkExpiry: defineScheduledJob({ name: 'licenses.check-expiry', queue: 'licenses', everyMs: config.LICENSE_CHECK_SECONDS * 1_000, handler: () => licenses.checkExpiry() }),
  };
}

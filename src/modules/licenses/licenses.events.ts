import { z } from 'zod';
import { defineEvent } from '../../infra/events.js';
import { PLUGINS } from '../../lib/license-keys.js';
import type { SameType } from '../../lib/same-type.js';
import type { LicenseUpdatedEvent } from './licenses.service.js';

const date = z.coerce.date();
const payload = z.object({
  action: z.enum(['ACTIVATED', 'EXPIRING', 'EXPIRED']),
  message: z.string(),
  license: z.object({
    customer: z.string(),
    plugins: z.array(z.enum(PLUGINS)),
    activePlugins: z.array(z.enum(PLUGINS)),
    issuedAt: date,
    expiresAt: date,
    status: z.enum(['ACTIVE', 'EXPIRING', 'EXPIRED']),
    maxServices: z.number().nullable(),
    activatedAt: date,
  }),
});

/** A license was activated, is about to expire, or expired; every instance drops its cached copy. */
export const LICENSE_UPDATED = defineEvent('license:updated', payload);

const mirrors: SameType<z.output<typeof payload>, LicenseUpdatedEvent> = true;
void mirrors;

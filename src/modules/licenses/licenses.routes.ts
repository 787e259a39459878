import { z } from 'zod';
import type { RouteDef } from '../../http/routes.js';
import { parseInput } from '../../http/validate.js';
import { actorOf } from '../../auth/actor.js';
import { MAX_LICENSE_KEY_LENGTH, type LicenseService } from './licenses.service.js';

const activateBody = z.strictObject({ licenseKey: z.string().trim().min(1).max(MAX_LICENSE_KEY_LENGTH) });

/** Seed 003's activation endpoint: no credential (the key is its own proof), the anonymous budget. */
export function licenseRoutes(deps: { licenses: Pick<LicenseService, 'activate'> }): RouteDef[] {
  return [
    {
      method: 'post',
      path: '/license/activate',
      access: 'PUBLIC',
      rateLimit: 'anonymous',
      async handler(req, res) {
        const { licenseKey } = parseInput(activateBody, req.body);
        const { license: _license, ...answer } = await deps.licenses.activate(licenseKey, 'rest', actorOf({ principal: req.principal, ip: req.ip, requestId: req.id }));
        res.json(answer);
      },
    },
  ];
}

import { createHash, timingSafeEqual } from 'node:crypto';
import type { RouteDef } from '../../http/routes.js';
import type { PromExposition } from '../../infra/prometheus.js';
import { AppError } from '../../lib/errors.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** `GET /metrics` for Prometheus: open, or behind `Authorization: Bearer <METRICS_TOKEN>` when one is set. */
export function prometheusRoutes(exposition: PromExposition, token: string | undefined): RouteDef[] {
  const expected = token === undefined ? undefined : digest(token);
  return [
    {
      method: 'get',
      path: '/metrics',
      // The scraper's token is not a user's or an API key's credential: it is checked here.
      access: 'PUBLIC',
      rateLimit: 'standard',
      handler: async (req, res) => {
        // Compared as digests, in constant time: the header's length says nothing about the token.
        const given = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
        if (expected && !(given !== undefined && timingSafeEqual(digest(given), expected))) {
          throw new AppError('UNAUTHENTICATED', 'send Authorization: Bearer <METRICS_TOKEN>');
        }
        res.setHeader('Cache-Control', 'no-store');
        res.type(exposition.contentType).send(await exposition.text());
      },
    },
  ];
}

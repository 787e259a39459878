import type { RouteDef } from '../../http/routes.js';
import type { StatusBoard } from './health.status.js';

/** Seed 004's `/health` and `/status`, in its shapes (no envelope). */
export function statusRoutes(board: StatusBoard): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/health',
      access: 'PUBLIC',
      // Not rate limited: the limit would cost a Redis command per call, and the answer is held for a second anyway.
      rateLimit: null,
      handler: async (_req, res) => {
        const health = await board.health();
        // Load balancers read the status code: only an instance that cannot serve is taken out.
        res.status(health.status === 'unhealthy' ? 503 : 200).set('Cache-Control', 'no-store').json(health);
      },
    },
    {
      method: 'get',
      path: '/status',
      access: 'VIEWER',
      rateLimit: 'standard',
      handler: async (_req, res) => void res.set('Cache-Control', 'no-store').json(await board.status()),
    },
  ];
}

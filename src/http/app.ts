import express, { type Express, type RequestHandler, type Router } from 'express';
import helmet from 'helmet';
import type { Config } from '../config.js';
import type { Logger } from '../infra/logger.js';
import type { RequestStats } from '../infra/runtime.js';
import { errorHandler, lazyRequestLogger, notFound, refuseHostileInput, requestContext, requireJson } from './middleware.js';
import { authenticate, buildRouter, rateLimit, type GuardDeps, type MountPoint, type RouteDef } from './routes.js';

export interface HttpAppParts {
  config: Config;
  logger: Logger;
  /** Where each finished request's route, status and duration is tallied. */
  requests: RequestStats;
  guard: GuardDeps;
  routes: { mount: MountPoint; routes: RouteDef[] }[];
  graphql: { path: string; handler: RequestHandler };
  /** Extra mounts such as Bull Board, each with its own guards. */
  extras?: { path: string; handlers: (RequestHandler | Router)[] }[];
}

/**
 * The Express app: request id and logging first, then security headers and a
 * bounded JSON body, then the module routes and GraphQL, each behind
 * authentication and its rate limit; anything else is a JSON 404, and every
 * error leaves through one handler.
 */
export function createHttpApp(parts: HttpAppParts): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', parts.config.TRUST_PROXY);
  lazyRequestLogger(app.request, parts.logger);
  app.use(requestContext(parts.logger, parts.requests));
  // CSP protects HTML; this server answers JSON, and its two HTML pages (GraphQL sandbox, Bull Board) load scripts it does not host.
  app.use(helmet({ contentSecurityPolicy: false, crossOriginEmbedderPolicy: false }));
  app.use(jsonBodies(parts));
  app.use('/api', requireJson);
  app.use(refuseHostileInput);
  for (const { mount, routes } of parts.routes) app.use(mount, buildRouter(routes, parts.guard, mount));
  // A bad credential on /graphql is reported by the fields that need one (see authChecker), so a
  // client whose access token expired can still call the public refreshToken.
  app.all(parts.graphql.path, (_req, res, next) => ((res.locals.route ??= parts.graphql.path), next()), authenticate(parts.guard), rateLimit(parts.guard, 'graphql'), parts.graphql.handler);
  for (const { path, handlers } of parts.extras ?? []) app.use(path, ...handlers);
  app.use(notFound);
  app.use(errorHandler());
  return app;
}

/**
 * JSON bodies up to BODY_LIMIT, or METRICS_BODY_LIMIT on the routes that ask for it. Chosen by
 * method and exact path before routing (the body is read before any router runs); such routes
 * have no path parameters. Paths compare as Express matches them: case and a trailing slash aside.
 */
function jsonBodies(parts: HttpAppParts): RequestHandler {
  const normal = express.json({ limit: parts.config.BODY_LIMIT });
  const large = express.json({ limit: parts.config.METRICS_BODY_LIMIT });
  const key = (method: string, path: string) => `${method.toUpperCase()} ${path.toLowerCase().replace(/\/+$/, '')}`;
  const largeRoutes = new Set<string>();
  for (const { mount, routes } of parts.routes) {
    for (const r of routes) {
      if (r.bodyLimit !== 'large') continue;
      if (r.path.includes(':')) throw new Error(`${r.method} ${r.path}: a large body limit is for routes without path parameters`);
      largeRoutes.add(key(r.method, `${mount === '/' ? '' : mount}${r.path}`));
    }
  }
  return (req, res, next) => (largeRoutes.has(key(req.method, req.path)) ? large : normal)(req, res, next);
}

import express, { type Express, type RequestHandler, type Router } from 'express';
import helmet from 'helmet';
import type { Config } from '../config.js';
import type { Logger } from '../infra/logger.js';
import type { MountPoint } from '../modules/module.js';
import { errorHandler, notFound, requestContext } from './middleware.js';

export interface HttpAppParts {
  config: Pick<Config, 'BODY_LIMIT'>;
  logger: Logger;
  routers: { mount: MountPoint; router: Router }[];
  graphql: { path: string; handler: RequestHandler };
  /** Extra mounts such as Bull Board. */
  extras?: { path: string; handler: RequestHandler | Router }[];
}

/**
 * The Express app: request id and logging first, then security headers and a
 * bounded JSON body, then the module routers and GraphQL; anything else is a
 * JSON 404, and every error leaves through one handler.
 */
export function createHttpApp(parts: HttpAppParts): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestContext(parts.logger));
  // CSP protects HTML; this server answers JSON, and its two HTML pages (GraphQL sandbox, Bull Board) load scripts it does not host.
  app.use(helmet({ contentSecurityPolicy: false, crossOriginEmbedderPolicy: false }));
  app.use(express.json({ limit: parts.config.BODY_LIMIT }));
  for (const { mount, router } of parts.routers) app.use(mount, router);
  app.all(parts.graphql.path, parts.graphql.handler);
  for (const { path, handler } of parts.extras ?? []) app.use(path, handler);
  app.use(notFound);
  app.use(errorHandler());
  return app;
}

import { randomUUID } from 'node:crypto';
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import { AppError, errorTable, MASKED_MESSAGE } from '../lib/errors.js';
import { findHostileString } from '../lib/hostile-input.js';
import { unavailableDependency } from '../infra/dependency-errors.js';
import type { Logger } from '../infra/logger.js';
import type { RequestStats } from '../infra/runtime.js';
import { sendError } from './envelope.js';

declare module 'express-serve-static-core' {
  interface Request {
    id: string;
    log: Logger;
  }
}

const PROBES = new Set(['/healthz', '/readyz']);
const SAFE_REQUEST_ID = /^[\w.:@-]{1,128}$/;

/**
 * Request id in (`X-Request-Id`, when it looks sane) and out, and one log line
 * per request when the response is finished, and the request's figures tallied. `req.log`, a child logger carrying
 * the id, is made only when something logs (see `lazyRequestLogger`).
 */
export function requestContext(logger: Logger, requests: RequestStats): RequestHandler {
  return (req, res, next) => {
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    req.id = id;
    res.setHeader('X-Request-Id', id);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // Orchestrators probe every few seconds: those lines would drown the rest at info.
      const level = PROBES.has(req.path) && res.statusCode < 500 ? 'debug' : 'info';
      logger[level]({ reqId: id, method: req.method, url: req.originalUrl, status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
      // A URL no route matched is tallied as one `unmatched` route: raw paths would let a scanner grow the map.
      const route = typeof res.locals.route === 'string' ? res.locals.route : 'unmatched';
      requests.record({ route, method: req.method, status: res.statusCode, ms });
    });
    next();
  };
}

/** Defines `req.log` on the app's request prototype: built on first use, then kept on the request. */
export function lazyRequestLogger(request: object, logger: Logger): void {
  Object.defineProperty(request, 'log', {
    configurable: true,
    get(this: Request) {
      const child = logger.child({ reqId: this.id });
      Object.defineProperty(this, 'log', { value: child });
      return child;
    },
  });
}

const isGraphqlPath = (req: Request) => req.path === '/graphql' || req.path.startsWith('/graphql/');

/**
 * REST bodies are JSON: a body of another type (a form, text/plain from `curl -d`) is refused
 * with 415 and what to send, instead of parsing as nothing and failing validation obscurely.
 */
export const requireJson: RequestHandler = (req, _res, next) => {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && !req.is('application/json')) {
    const given = req.headers['content-type'] ?? 'none';
    return next(new AppError('UNSUPPORTED_MEDIA_TYPE', `send Content-Type: application/json (got ${given})`, { contentType: given }));
  }
  next();
};

/** A NUL or a lone surrogate anywhere in a body or a query string: 400 naming where, before any route sees it. */
export const refuseHostileInput: RequestHandler = (req, _res, next) => {
  const found = findHostileString(req.body, 'body') ?? findHostileString(req.query, 'query');
  if (!found) return next();
  // A GraphQL body's fields are named as the caller wrote them: variables.input.title.
  const field = isGraphqlPath(req) ? found.field.replace(/^body\./, '') : found.field.replace(/^(body|query)\./, '');
  next(new AppError('BAD_USER_INPUT', `${field} ${found.problem}`, { field }));
};

/** Unknown API routes answer JSON, never Express's HTML page. */
export const notFound: RequestHandler = (req, res) => {
  sendError(res, new AppError('NOT_FOUND', `no route for ${req.method} ${req.path}`, { method: req.method, path: req.path }));
};

/** Turns body-parser failures and thrown errors into the envelope; anything unexpected is logged and masked. */
export function errorHandler(): ErrorRequestHandler {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const appError = toAppError(err);
    if (appError.code === 'INTERNAL') req.log?.error({ err }, 'unhandled error');
    else if (appError.code === 'SERVICE_UNAVAILABLE') req.log?.warn({ err: (err as Error).message }, 'dependency unavailable');
    if (res.headersSent) {
      res.end();
      return;
    }
    if (isGraphqlPath(req)) {
      // GraphQL clients read `errors`, not the REST envelope.
      res.status(appError.http).json({
        errors: [{ message: appError.code === 'INTERNAL' ? MASKED_MESSAGE : appError.message, extensions: { code: errorTable[appError.code].graphql, ...appError.details } }],
      });
      return;
    }
    sendError(res, appError);
  };
}

function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as { type?: string; status?: number; limit?: number; message?: string };
  switch (e?.type) {
    case 'entity.parse.failed':
      return new AppError('BAD_USER_INPUT', 'request body is not valid JSON', { field: 'body' });
    case 'entity.too.large':
      return new AppError('PAYLOAD_TOO_LARGE', `request body is larger than ${e.limit} bytes`, { limit: e.limit });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('BAD_USER_INPUT', e.message ?? 'unsupported body encoding', { field: 'body' });
  }
  const dependency = unavailableDependency(err);
  if (dependency) return new AppError('SERVICE_UNAVAILABLE', `${dependency} is unavailable; retry shortly`, { dependency });
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    return new AppError(e.status === 404 ? 'NOT_FOUND' : 'BAD_USER_INPUT', e.message ?? 'bad request');
  }
  return new AppError('INTERNAL', MASKED_MESSAGE);
}

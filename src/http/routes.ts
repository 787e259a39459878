import { Router, type Request, type RequestHandler, type Response } from 'express';
import { actorOf, type AuditActor } from '../auth/actor.js';
import type { Authenticator } from '../auth/authenticator.js';
import { authorize, type ApiKeyScope, type RouteAccess } from '../auth/guards.js';
import { PUBLIC, type Principal } from '../auth/roles.js';
import type { Config } from '../config.js';
import type { RateLimiter } from '../infra/ratelimit.js';
import { AppError } from '../lib/errors.js';
import { clientKey } from '../lib/ip.js';
import type { SecurityLog } from '../infra/security-log.js';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

/** Where a REST router is mounted: the probes at the root, the APIs under their families. */
export type MountPoint = '/' | '/api/v1' | '/api/ops';

/** Rate-limit classes (docs/api.md), each with its own budget per minute. */
export const RATE_CLASSES = {
  standard: 'RATE_LIMIT_STANDARD',
  metricsQuery: 'RATE_LIMIT_METRICS_QUERY',
  backupOps: 'RATE_LIMIT_BACKUP_OPS',
  agent: 'RATE_LIMIT_AGENT',
  graphql: 'RATE_LIMIT_GRAPHQL',
  anonymous: 'RATE_LIMIT_ANONYMOUS',
} as const satisfies Record<string, keyof Config>;
export type RateClass = keyof typeof RATE_CLASSES;

/**
 * A REST route as data: method, path, who may call it and which budget it
 * spends. Modules list their routes; the router, the guards and the test that
 * walks every route are all built from the same list.
 */
export interface RouteDef {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  access: RouteAccess;
  /** For AGENT routes: the API key scope the route belongs to; on a role route, API keys of this scope are let in too. */
  scope?: ApiKeyScope;
  /**
   * For routes of people (a role): API keys carrying this scope may call them too, whatever the
   * role (the ops console's token). A key without it, unscoped keys included, is refused.
   */
  keyScope?: ApiKeyScope;
  /** null: not rate limited (probes). */
  rateLimit: RateClass | null;
  /**
   * 'large': the JSON body may be up to METRICS_BODY_LIMIT instead of BODY_LIMIT (routes taking
   * big batches), so raising it for them does not raise it for every route.
   */
  bodyLimit?: 'large';
  handler: (req: Request, res: Response) => unknown;
}

/** Who made a REST request, for the audit log. */
export const requestActor = (req: Request): AuditActor => actorOf({ principal: req.principal, ip: req.ip, requestId: req.id });

/** A route for agents' and jobs' API keys: the key's scope, the agent budget. */
export const agentRoute = (method: RouteDef['method'], path: string, scope: ApiKeyScope, handler: RouteDef['handler']): RouteDef => ({
  method,
  path,
  access: 'AGENT',
  scope,
  rateLimit: 'agent',
  handler,
});

export interface GuardDeps {
  authenticator: Authenticator;
  limiter: RateLimiter;
  security: SecurityLog;
  config: Config;
}

/** Who is calling; a bad credential is remembered and reported after the rate limit has counted the call. */
export function authenticate(deps: Pick<GuardDeps, 'authenticator'>): RequestHandler {
  return async (req, res, next) => {
    try {
      req.principal = await deps.authenticator.authenticate(req.headers.authorization, req.ip);
    } catch (err) {
      res.locals.authError = err;
    }
    next();
  };
}

function rateKey(req: Request, cls: RateClass): string {
  const p = req.principal;
  if (p?.kind === 'apiKey') return `key:${p.keyId}`;
  if (p?.kind === 'user' && cls === 'graphql') return `user:${p.userId}`;
  return `ip:${clientKey(req.ip)}`;
}

/** Counts the call in its class's shared budget, sets the X-RateLimit headers, refuses with 429 over it. */
export function rateLimit(deps: GuardDeps, cls: RateClass): RequestHandler {
  const limit = deps.config[RATE_CLASSES[cls]];
  return async (req, res, next) => {
    const key = rateKey(req, cls);
    const d = await deps.limiter.hit(cls, key, limit);
    res.setHeader('X-RateLimit-Limit', String(d.limit));
    res.setHeader('X-RateLimit-Remaining', String(d.remaining));
    res.setHeader('X-RateLimit-Reset', String(d.resetAt));
    if (d.allowed) return next();
    res.setHeader('Retry-After', String(d.retryAfter));
    if (d.firstRefusal) void deps.security.record('rate_limited', { ip: req.ip, actor: key, details: { class: cls, limit, path: req.path } });
    next(new AppError('RATE_LIMITED', 'Rate limit exceeded', { limit, window: deps.limiter.windowSeconds, retryAfter: d.retryAfter }));
  };
}

/** A guard for mounts that are not route tables (Bull Board). */
export function requireAccess(access: RouteAccess): RequestHandler {
  return (req, res, next) => {
    if (res.locals.authError) return next(res.locals.authError);
    authorize(req.principal, access);
    next();
  };
}

/** Express 5 forwards rejected promises to the error handler; this only adapts the handler's shape. */
function routeHandler(def: RouteDef): RequestHandler {
  return async (req, res, next) => {
    // On public routes a bad credential is ignored: the caller is anonymous.
    if (res.locals.authError && def.access !== PUBLIC) return next(res.locals.authError);
    authorize(req.principal, def.access, def.scope, def.keyScope);
    await def.handler(req, res);
  };
}

export function buildRouter(routes: readonly RouteDef[], deps: GuardDeps, mount = ''): Router {
  const router = Router();
  for (const def of routes) {
    const template = `${mount === '/' ? '' : mount}${def.path}`;
    // The request figures are kept per route template, never per raw URL (see infra/runtime.ts).
    const chain: RequestHandler[] = [(_req, res, next) => ((res.locals.route = template), next())];
    if (def.access !== 'PUBLIC' || def.rateLimit) chain.push(authenticate(deps));
    if (def.rateLimit) chain.push(rateLimit(deps, def.rateLimit));
    router[def.method](def.path, ...chain, routeHandler(def));
  }
  return router;
}

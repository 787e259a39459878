import type { AuthChecker } from 'type-graphql';
import { AppError } from '../lib/errors.js';
import { PUBLIC, roleAtLeast, type Access, type Principal, type Role } from './roles.js';

/** REST routes may also be for agents: an API key (node binding is checked by the route). */
export const AGENT = 'AGENT';
export type RouteAccess = Access | typeof AGENT;

/**
 * What an API key may be limited to. A key with no scopes may use every agent route;
 * one with scopes only the routes of those scopes (a backup job's key cannot post statuses).
 * `ops` is different: it is never implied, only a key that carries it may use the ops console
 * (`/api/ops`, runbooks included), so an agent's unscoped key cannot fail a deployment over.
 */
export const API_KEY_SCOPES = ['operator', 'backup', 'metrics', 'ops'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/**
 * The one authorization rule, for GraphQL fields and REST routes alike:
 * PUBLIC lets anybody in; AGENT wants an API key; a role wants a person with at
 * least that role. No credential: UNAUTHENTICATED; the wrong one: FORBIDDEN.
 */
export function authorize(principal: Principal | undefined, access: RouteAccess, scope?: ApiKeyScope, keyScope?: ApiKeyScope): void {
  if (access === PUBLIC) return;
  if (!principal) throw new AppError('UNAUTHENTICATED', 'authentication required');
  // A route for people that also takes API keys carrying `keyScope` (and only those: no scope is no scope here).
  if (keyScope && principal.kind === 'apiKey') {
    if (!principal.scopes.includes(keyScope)) throw new AppError('FORBIDDEN', `this API key lacks the scope ${keyScope}`, { scope: keyScope });
    return;
  }
  if (access === AGENT) {
    if (principal.kind !== 'apiKey') throw new AppError('FORBIDDEN', 'this endpoint is for API keys of agents and jobs');
    if (scope && principal.scopes.length && !principal.scopes.includes(scope)) {
      throw new AppError('FORBIDDEN', `this API key lacks the scope ${scope}`, { scope });
    }
    return;
  }
  if (principal.kind !== 'user') {
    // A role route with a scope also takes the API keys of that scope (metric pushes: an operator or an exporter's key).
    if (scope && (principal.scopes.length === 0 || principal.scopes.includes(scope))) return;
    throw new AppError('FORBIDDEN', scope ? `this API key lacks the scope ${scope}` : 'API keys cannot use this operation', scope ? { scope } : undefined);
  }
  if (!roleAtLeast(principal.role, access)) throw new AppError('FORBIDDEN', `requires role ${access} or higher`, { required: access });
}

/** An API key bound to a node may only act for that node. */
export function assertNodeAccess(principal: Principal | undefined, nodeId: string): void {
  if (principal?.kind === 'apiKey' && principal.nodeId && principal.nodeId !== nodeId) {
    throw new AppError('FORBIDDEN', `this API key is bound to node ${principal.nodeId}`, { field: 'nodeId', nodeId });
  }
}

export function requireUser(principal: Principal | undefined): Extract<Principal, { kind: 'user' }> {
  if (principal?.kind !== 'user') throw new AppError('UNAUTHENTICATED', 'authentication required');
  return principal;
}

/** type-graphql's checker: `@Authorized('VIEWER')`, `@Authorized('PUBLIC')`, ... exactly one access level per field. */
export const authChecker: AuthChecker<{ principal?: Principal; authError?: unknown }, Access> = ({ context }, accesses) => {
  if (accesses.length !== 1) throw new Error('@Authorized takes exactly one access level');
  const access = accesses[0] as Role | typeof PUBLIC;
  if (access !== PUBLIC && context.authError) throw context.authError;
  authorize(context.principal, access);
  return true;
};

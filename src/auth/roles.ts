/** Roles, weakest first: each includes everything the ones before it may do. */
export const ROLES = ['VIEWER', 'OPERATOR', 'ADMIN'] as const;
export type Role = (typeof ROLES)[number];

/**
 * What `@Authorized(...)` and REST routes accept: a minimum role, or `PUBLIC`
 * for the few things anybody may call. Every root field and route says which.
 */
export const PUBLIC = 'PUBLIC';
export type Access = Role | typeof PUBLIC;

export function roleAtLeast(actual: Role, required: Role): boolean {
  return ROLES.indexOf(actual) >= ROLES.indexOf(required);
}

export type Principal =
  | {
      kind: 'user';
      userId: string;
      email: string;
      role: Role;
      expiresAt: Date;
      /** The session (refresh token family) the access token belongs to, when the token names one. */
      sessionId?: string;
    }
  | { kind: 'apiKey'; keyId: string; name: string; nodeId: string | null; scopes: string[] };

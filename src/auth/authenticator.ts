import type { Database } from '../infra/prisma.js';
import { AppError } from '../lib/errors.js';
import type { ApiKeys } from './apikeys.js';
import type { Principal } from './roles.js';
import type { AccessTokens } from './tokens.js';

/**
 * Turns an `Authorization` header into a principal. No header: anonymous
 * (`undefined`); a header that does not check out: UNAUTHENTICATED, never
 * silently anonymous. The user row is read on every request, so a disabled user
 * or a changed role takes effect at the next request, not at token expiry.
 */
export function createAuthenticator(deps: { db: Database; tokens: AccessTokens; apiKeys: ApiKeys }) {
  return {
    async authenticate(authorization: string | undefined, ip: string | undefined): Promise<Principal | undefined> {
      if (!authorization) return undefined;
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!m) throw new AppError('UNAUTHENTICATED', 'Authorization must be "Bearer <token>"');
      const credential = m[1]!;
      if (credential.startsWith('opk_')) return deps.apiKeys.verify(credential, ip);
      const claims = await deps.tokens.verify(credential);
      const user = await deps.db.user.findUnique({ where: { id: claims.sub }, select: { id: true, email: true, role: true, disabled: true } });
      if (!user || user.disabled) throw new AppError('UNAUTHENTICATED', 'user is disabled or no longer exists');
      return { kind: 'user', userId: user.id, email: user.email, role: user.role, expiresAt: new Date(claims.exp * 1000), sessionId: claims.sid };
    },
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;

/**
 * What a WebSocket's close frame says when its credential is refused, so a client can tell "log in
 * again" from "fix your token"; the details stay in the security log.
 */
export function refusalReason(message: string): 'no token' | 'token expired' | 'user disabled' | 'bad token' {
  if (message === 'no token') return 'no token';
  if (/expired/.test(message)) return 'token expired';
  if (/disabled/.test(message)) return 'user disabled';
  return 'bad token';
}

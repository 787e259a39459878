import { sqlOf } from '../infra/sql.js';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { Clock } from '../infra/clock.js';
import type { Logger } from '../infra/logger.js';
import type { RedisFallbacks } from '../infra/redis-fallbacks.js';
import type { Database } from '../infra/prisma.js';
import type { RateLimiter } from '../infra/ratelimit.js';
import { AppError } from '../lib/errors.js';
import { clientKey } from '../lib/ip.js';
import type { AuditRecorder } from '../infra/audit-recorder.js';
import type { SecurityLog } from '../infra/security-log.js';
import { dummyHash, verifyPassword } from './passwords.js';
import type { Principal, Role } from './roles.js';
import { newRefreshToken, sha256, type AccessTokens } from './tokens.js';

/** The signed-in user as GraphQL's User type shows it (never the password hash). */
export interface SessionUser {
  id: string;
  email: string;
  role: Role;
  disabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface Session {
  token: string;
  refreshToken: string;
  user: SessionUser;
}

const sessionUser = (u: SessionUser): SessionUser => ({ id: u.id, email: u.email, role: u.role, disabled: u.disabled, createdAt: u.createdAt, updatedAt: u.updatedAt });

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

/** Where a session request came from, for the security and audit logs. */
export interface Caller {
  ip?: string;
  requestId?: string;
}

/** Why credentials are being checked: recorded with a failure, so the security log tells the surfaces apart. */
export type CredentialPurpose = 'login' | 'admin_login' | 'change_password';

/** A signed-in Bull Board session: the cookie's token and when it stops working. */
export interface AdminSession {
  token: string;
  expiresAt: Date;
  user: { id: string; email: string; role: Role };
}

/**
 * Login, refresh rotation and logout; the short admin sessions of the Bull Board sign-in; and
 * the password check of changePassword.
 *
 * Refresh tokens rotate on every use and stay in their family; presenting one
 * that was already used means it leaked (or two tabs raced), so the whole family
 * is revoked and the person logs in again. Everything that touches a family
 * runs under a lock on it, so of two concurrent refreshes exactly one wins and
 * a revoked family stays revoked.
 *
 * Brute force: `LOGIN_MAX_FAILURES` failures for one email from one client in
 * `LOGIN_LOCKOUT_MINUTES` lock that pair for as long; counted in Redis so every
 * instance sees them. Every password check (login, the admin sign-in, changePassword's current
 * password) goes through the same budget and lockout.
 *
 * A session is a refresh token family; access tokens name theirs (`sid`), so a user's own session
 * can be told from their others. An admin session (the Bull Board cookie) is a family too, with a
 * single row whose refresh token is never handed out: it cannot be refreshed, it ends at the
 * cookie's expiry, and whatever ends a user's sessions (logout, a password change, disabling)
 * ends it as well.
 */
export function createSessions(deps: {
  db: Database;
  redis: Redis;
  fallbacks: RedisFallbacks;
  logger: Logger;
  prefix: string;
  clock: Clock;
  tokens: AccessTokens;
  /** Signs the admin session cookie: an audience of its own, so it is no bearer token for the API. */
  adminTokens: AccessTokens;
  security: SecurityLog;
  audit: AuditRecorder;
  limiter: RateLimiter;
  config: Pick<Config, 'REFRESH_TOKEN_TTL_DAYS' | 'LOGIN_MAX_FAILURES' | 'LOGIN_LOCKOUT_MINUTES' | 'RATE_LIMIT_ANONYMOUS'>;
}) {
  const lockSeconds = deps.config.LOGIN_LOCKOUT_MINUTES * 60;
  const keys = (email: string, ip: string | undefined) => {
    const id = `${sha256(email).slice(0, 32)}:${clientKey(ip)}`;
    return { failures: `${deps.prefix}:login:fail:${id}`, lock: `${deps.prefix}:login:lock:${id}` };
  };
  const actorOf = (userId: string, caller: Caller) => ({ type: 'USER' as const, id: userId, ip: caller.ip ?? null, requestId: caller.requestId ?? null });

  /** A new session (refresh token family) with its first token; its start is an audit entry, written with it. */
  async function startFamily(user: { id: string; email: string }, familyId: string, expiresAt: Date, caller: Caller, via?: string): Promise<string> {
    const refresh = newRefreshToken();
    const now = deps.clock.now();
    await deps.db.$transaction(async (tx) => {
      await tx.refreshToken.create({ data: { userId: user.id, familyId, tokenHash: refresh.hash, expiresAt, createdAt: now } });
      await deps.audit.record(tx, actorOf(user.id, caller), {
        action: 'auth.login',
        resourceType: 'session',
        resourceId: familyId,
        after: { userId: user.id, email: user.email, expiresAt, ...(via ? { via } : {}) },
      });
    });
    return refresh.token;
  }

  async function issue(user: SessionUser, caller: Caller): Promise<Session> {
    const familyId = randomUUID();
    const expiresAt = new Date(deps.clock.now().getTime() + deps.config.REFRESH_TOKEN_TTL_DAYS * 86_400_000);
    const refreshToken = await startFamily(user, familyId, expiresAt, caller);
    const access = await deps.tokens.sign(user, familyId);
    return { token: access.token, refreshToken, user: sessionUser(user) };
  }

  /** Ends one session; only a session that was open is an audit entry. Idempotent, and only ever adds revocations, so it needs no family lock. */
  async function endFamily(familyId: string, userId: string, caller: Caller): Promise<void> {
    await deps.db.$transaction(async (tx) => {
      const ended = await tx.refreshToken.updateMany({ where: { familyId, userId, revokedAt: null }, data: { revokedAt: deps.clock.now() } });
      if (ended.count === 0) return;
      await deps.audit.record(tx, actorOf(userId, caller), { action: 'auth.logout', resourceType: 'session', resourceId: familyId });
    });
  }

  async function registerFailure(email: string, ip: string | undefined, reason: string, purpose: CredentialPurpose): Promise<void> {
    const k = keys(email, ip);
    const [[, count]] = (await deps.redis.multi().incr(k.failures).expire(k.failures, lockSeconds, 'NX').exec()) as [[unknown, number]];
    const via = purpose === 'login' ? {} : { via: purpose };
    await deps.security.record('login_failed', { ip, actor: email, details: { reason, failures: count, ...via } });
    if (count >= deps.config.LOGIN_MAX_FAILURES) {
      await deps.redis.multi().set(k.lock, '1', 'EX', lockSeconds).del(k.failures).exec();
      await deps.security.record('login_locked', { ip, actor: email, details: { minutes: deps.config.LOGIN_LOCKOUT_MINUTES, ...via } });
    }
  }

  /**
   * The one password check: the anonymous budget of the address, the lockout of the email and
   * address, a failure recorded in the security log. Answers the user, or null when the
   * credentials are wrong (the failure is already counted and recorded).
   */
  async function checkCredentials(emailInput: string, password: string, caller: Caller, purpose: CredentialPurpose) {
    const ip = caller.ip;
    // Password checks also spend the anonymous budget of their address, whatever the email.
    const budget = await deps.limiter.hit('anonymous', `ip:${clientKey(ip)}`, deps.config.RATE_LIMIT_ANONYMOUS);
    if (!budget.allowed) {
      if (budget.firstRefusal) await deps.security.record('rate_limited', { ip, details: { class: 'anonymous', operation: purpose } });
      throw new AppError('RATE_LIMITED', 'Rate limit exceeded', { limit: budget.limit, window: deps.limiter.windowSeconds, retryAfter: budget.retryAfter });
    }
    const email = normalizeEmail(emailInput);
    const k = keys(email, ip);
    // The lockout is what stops password guessing, and the rate limit above lets everything through
    // while Redis is away; so without an answer from Redis (down, or no answer within
    // REDIS_COMMAND_TIMEOUT_MS) no password is checked: the request fails closed, 503 naming redis,
    // at once while Redis is known not to answer.
    const lockTtl = await deps.fallbacks.required(() => deps.redis.ttl(k.lock));
    if (lockTtl > 0) {
      throw new AppError('RATE_LIMITED', 'too many failed logins for this account from this address; try again later', { retryAfter: lockTtl });
    }
    const user = await deps.db.user.findUnique({ where: { email } });
    const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyHash()));
    if (!user || !ok || user.disabled) {
      await registerFailure(email, ip, !user ? 'unknown_email' : !ok ? 'bad_password' : 'disabled', purpose);
      return null;
    }
    // Best effort: the password was right, so a Redis that stops answering now must not refuse the
    // login; the failure counter expires by itself.
    await deps.redis.del(k.failures).catch((err: Error) => deps.logger.warn({ err: err.message }, 'could not reset the failed-login counter'));
    return user;
  }

  return {
    async login(emailInput: string, password: string, caller: Caller): Promise<Session> {
      const user = await checkCredentials(emailInput, password, caller, 'login');
      if (!user) throw new AppError('UNAUTHENTICATED', 'invalid email or password');
      return issue(user, caller);
    },

    /**
     * Checks the password of a signed-in user (changePassword): the same budget, lockout and
     * security log as a login, so a stolen access token is no way to guess the password faster.
     */
    async confirmPassword(email: string, password: string, caller: Caller): Promise<void> {
      const user = await checkCredentials(email, password, caller, 'change_password');
      if (!user) throw new AppError('BAD_USER_INPUT', 'currentPassword: not the current password', { field: 'currentPassword' });
    },

    async refresh(refreshToken: string, ip: string | undefined): Promise<Session> {
      const tokenHash = sha256(refreshToken);
      const now = deps.clock.now();
      const found = await deps.db.refreshToken.findUnique({ where: { tokenHash }, select: { familyId: true } });
      if (!found) throw new AppError('UNAUTHENTICATED', 'invalid or expired refresh token');
      // One family at a time: claiming a token, issuing its successor and revoking on reuse
      // cannot interleave, so a revoked family never gains a live token afterwards.
      const outcome = await deps.db.$transaction(async (tx) => {
        await sqlOf(tx).execute('SELECT pg_advisory_xact_lock(hashtext($1::text))', [`opsgraph:refresh:${found.familyId}`]);
        const row = await tx.refreshToken.findUniqueOrThrow({ where: { tokenHash }, include: { user: true } });
        if (row.usedAt) {
          await tx.refreshToken.updateMany({ where: { familyId: row.familyId, revokedAt: null }, data: { revokedAt: now } });
          return { kind: 'reused', email: row.user.email } as const;
        }
        if (row.revokedAt || row.expiresAt <= now || row.user.disabled) return { kind: 'refused' } as const;
        await tx.refreshToken.update({ where: { id: row.id }, data: { usedAt: now } });
        const next = newRefreshToken();
        const expiresAt = new Date(now.getTime() + deps.config.REFRESH_TOKEN_TTL_DAYS * 86_400_000);
        await tx.refreshToken.create({ data: { userId: row.userId, familyId: row.familyId, tokenHash: next.hash, expiresAt, createdAt: now } });
        return { kind: 'renewed', user: row.user, familyId: row.familyId, refreshToken: next.token } as const;
      });
      if (outcome.kind === 'reused') {
        await deps.security.record('refresh_token_reuse', { ip, actor: outcome.email, details: { familyId: found.familyId } });
      }
      if (outcome.kind !== 'renewed') throw new AppError('UNAUTHENTICATED', 'invalid or expired refresh token');
      const access = await deps.tokens.sign(outcome.user, outcome.familyId);
      return { token: access.token, refreshToken: outcome.refreshToken, user: sessionUser(outcome.user as SessionUser) };
    },

    /** Ends the session the refresh token belongs to (its whole family). Idempotent: only a session that was open is an audit entry. */
    async logout(refreshToken: string, caller: Caller): Promise<boolean> {
      const row = await deps.db.refreshToken.findUnique({ where: { tokenHash: sha256(refreshToken) } });
      if (row) await endFamily(row.familyId, row.userId, caller);
      return true;
    },

    /**
     * The Bull Board sign-in: the same password check as a login, then admins only. A refused
     * non-admin is a `login_failed` (reason `not_admin`) in the security log, but does not count
     * towards the lockout: the password was right.
     */
    async adminSignIn(emailInput: string, password: string, caller: Caller): Promise<AdminSession> {
      const user = await checkCredentials(emailInput, password, caller, 'admin_login');
      if (!user) throw new AppError('UNAUTHENTICATED', 'invalid email or password');
      if (user.role !== 'ADMIN') {
        await deps.security.record('login_failed', { ip: caller.ip, actor: user.email, details: { reason: 'not_admin', via: 'admin_login' } });
        throw new AppError('FORBIDDEN', 'only admins may sign in here', { required: 'ADMIN' });
      }
      const familyId = randomUUID();
      const access = await deps.adminTokens.sign(user, familyId);
      // The family's one row ends with the cookie; its refresh token is dropped here, unseen.
      await startFamily(user, familyId, access.expiresAt, caller, 'admin');
      return { token: access.token, expiresAt: access.expiresAt, user: { id: user.id, email: user.email, role: user.role } };
    },

    /**
     * Who an admin session cookie belongs to: an enabled ADMIN whose session is still open (not
     * signed out, not ended by a password change). Read on every request, like a bearer token's user.
     */
    async verifyAdminSession(token: string): Promise<Extract<Principal, { kind: 'user' }>> {
      const claims = await deps.adminTokens.verify(token);
      if (!claims.sid) throw new AppError('UNAUTHENTICATED', 'invalid admin session');
      const user = await deps.db.user.findUnique({
        where: { id: claims.sub },
        select: { id: true, email: true, role: true, disabled: true, refreshTokens: { where: { familyId: claims.sid, revokedAt: null, expiresAt: { gt: deps.clock.now() } }, select: { id: true }, take: 1 } },
      });
      if (!user || user.disabled || !user.refreshTokens.length) throw new AppError('UNAUTHENTICATED', 'the admin session has ended; sign in again');
      if (user.role !== 'ADMIN') throw new AppError('FORBIDDEN', 'requires role ADMIN or higher', { required: 'ADMIN' });
      return { kind: 'user', userId: user.id, email: user.email, role: user.role, expiresAt: new Date(claims.exp * 1000), sessionId: claims.sid };
    },

    /** Signs an admin session out (the cookie's token, even an expired one); anything unreadable is simply nothing to end. */
    async endAdminSession(token: string, caller: Caller): Promise<void> {
      let claims: { sub: string; sid?: string };
      try {
        claims = await deps.adminTokens.verify(token);
      } catch {
        return;
      }
      if (claims.sid) await endFamily(claims.sid, claims.sub, caller);
    },
  };
}

export type Sessions = ReturnType<typeof createSessions>;

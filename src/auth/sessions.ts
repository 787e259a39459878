import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { Clock } from '../infra/clock.js';
import type { Database } from '../infra/prisma.js';
import type { RateLimiter } from '../infra/ratelimit.js';
import { AppError } from '../lib/errors.js';
import { clientKey } from '../lib/ip.js';
import type { AuditRecorder } from '../infra/audit-recorder.js';
import type { SecurityLog } from '../infra/security-log.js';
import { dummyHash, verifyPassword } from './passwords.js';
import type { Role } from './roles.js';
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

/**
 * Login, refresh rotation and logout.
 *
 * Refresh tokens rotate on every use and stay in their family; presenting one
 * that was already used means it leaked (or two tabs raced), so the whole family
 * is revoked and the person logs in again. Everything that touches a family
 * runs under a lock on it, so of two concurrent refreshes exactly one wins and
 * a revoked family stays revoked.
 *
 * Brute force: `LOGIN_MAX_FAILURES` failures for one email from one client in
 * `LOGIN_LOCKOUT_MINUTES` lock that pair for as long; counted in Redis so every
 * instance sees them.
 */
export function createSessions(deps: {
  db: Database;
  redis: Redis;
  prefix: string;
  clock: Clock;
  tokens: AccessTokens;
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

  /** A new session (refresh token family); its start is an audit entry, written with it. */
  async function issue(user: SessionUser, familyId: string, caller: Caller): Promise<Session> {
    const refresh = newRefreshToken();
    const now = deps.clock.now();
    const expiresAt = new Date(now.getTime() + deps.config.REFRESH_TOKEN_TTL_DAYS * 86_400_000);
    await deps.db.$transaction(async (tx) => {
      await tx.refreshToken.create({ data: { userId: user.id, familyId, tokenHash: refresh.hash, expiresAt, createdAt: now } });
      await deps.audit.record(
        tx,
        { type: 'USER', id: user.id, ip: caller.ip ?? null, requestId: caller.requestId ?? null },
        { action: 'auth.login', resourceType: 'session', resourceId: familyId, after: { userId: user.id, email: user.email, expiresAt } },
      );
    });
    const access = await deps.tokens.sign(user);
    return { token: access.token, refreshToken: refresh.token, user: sessionUser(user) };
  }

  async function registerFailure(email: string, ip: string | undefined, reason: string): Promise<void> {
    const k = keys(email, ip);
    const [[, count]] = (await deps.redis.multi().incr(k.failures).expire(k.failures, lockSeconds, 'NX').exec()) as [[unknown, number]];
    await deps.security.record('login_failed', { ip, actor: email, details: { reason, failures: count } });
    if (count >= deps.config.LOGIN_MAX_FAILURES) {
      await deps.redis.multi().set(k.lock, '1', 'EX', lockSeconds).del(k.failures).exec();
      await deps.security.record('login_locked', { ip, actor: email, details: { minutes: deps.config.LOGIN_LOCKOUT_MINUTES } });
    }
  }

  return {
    async login(emailInput: string, password: string, caller: Caller): Promise<Session> {
      const ip = caller.ip;
      // Login attempts also spend the anonymous budget of their address, whatever the email.
      const budget = await deps.limiter.hit('anonymous', `ip:${clientKey(ip)}`, deps.config.RATE_LIMIT_ANONYMOUS);
      if (!budget.allowed) {
        if (budget.firstRefusal) await deps.security.record('rate_limited', { ip, details: { class: 'anonymous', operation: 'login' } });
        throw new AppError('RATE_LIMITED', 'Rate limit exceeded', { limit: budget.limit, window: deps.limiter.windowSeconds, retryAfter: budget.retryAfter });
      }
      const email = normalizeEmail(emailInput);
      const k = keys(email, ip);
      const lockTtl = await deps.redis.ttl(k.lock);
      if (lockTtl > 0) {
        throw new AppError('RATE_LIMITED', 'too many failed logins for this account from this address; try again later', { retryAfter: lockTtl });
      }
      const user = await deps.db.user.findUnique({ where: { email } });
      const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyHash()));
      if (!user || !ok || user.disabled) {
        await registerFailure(email, ip, !user ? 'unknown_email' : !ok ? 'bad_password' : 'disabled');
        throw new AppError('UNAUTHENTICATED', 'invalid email or password');
      }
      await deps.redis.del(k.failures);
      return issue(user, randomUUID(), caller);
    },

    async refresh(refreshToken: string, ip: string | undefined): Promise<Session> {
      const tokenHash = sha256(refreshToken);
      const now = deps.clock.now();
      const found = await deps.db.refreshToken.findUnique({ where: { tokenHash }, select: { familyId: true } });
      if (!found) throw new AppError('UNAUTHENTICATED', 'invalid or expired refresh token');
      // One family at a time: claiming a token, issuing its successor and revoking on reuse
      // cannot interleave, so a revoked family never gains a live token afterwards.
      const outcome = await deps.db.$transaction(async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`opsgraph:refresh:${found.familyId}`}))`;
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
        return { kind: 'renewed', user: row.user, refreshToken: next.token } as const;
      });
      if (outcome.kind === 'reused') {
        await deps.security.record('refresh_token_reuse', { ip, actor: outcome.email, details: { familyId: found.familyId } });
      }
      if (outcome.kind !== 'renewed') throw new AppError('UNAUTHENTICATED', 'invalid or expired refresh token');
      const access = await deps.tokens.sign(outcome.user);
      return { token: access.token, refreshToken: outcome.refreshToken, user: sessionUser(outcome.user as SessionUser) };
    },

    /** Ends the session the refresh token belongs to (its whole family). Idempotent: only a session that was open is an audit entry. */
    async logout(refreshToken: string, caller: Caller): Promise<boolean> {
      // Revoking is idempotent and only ever adds revocations, so it needs no family lock.
      const row = await deps.db.refreshToken.findUnique({ where: { tokenHash: sha256(refreshToken) } });
      if (!row) return true;
      await deps.db.$transaction(async (tx) => {
        const ended = await tx.refreshToken.updateMany({ where: { familyId: row.familyId, revokedAt: null }, data: { revokedAt: deps.clock.now() } });
        if (ended.count === 0) return;
        await deps.audit.record(
          tx,
          { type: 'USER', id: row.userId, ip: caller.ip ?? null, requestId: caller.requestId ?? null },
          { action: 'auth.logout', resourceType: 'session', resourceId: row.familyId },
        );
      });
      return true;
    },
  };
}

export type Sessions = ReturnType<typeof createSessions>;

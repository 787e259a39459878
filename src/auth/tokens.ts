import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import type { Clock } from '../infra/clock.js';
import { AppError } from '../lib/errors.js';
import { ROLES, type Role } from './roles.js';

/**
 * Access tokens: HS256 JWTs with `iss`, `aud` and `typ: at+jwt` (RFC 9068) all
 * required and checked, only HS256 accepted, 30 s of clock tolerance.
 */
const ALG = 'HS256';
const TYP = 'at+jwt';

export interface AccessClaims {
  sub: string;
  role: Role;
  email: string;
  exp: number;
  /** The session (refresh token family) the token was issued for; absent in tokens signed before sessions were named. */
  sid?: string;
}

/** How far past `exp` an access token is still taken, on HTTP and WebSocket alike (clock skew between hosts). */
export const CLOCK_TOLERANCE_SECONDS = 30;

export function createAccessTokens(deps: { secret: string; issuer: string; audience: string; ttlSeconds: number; clock: Clock }) {
  const key = new TextEncoder().encode(deps.secret);
  return {
    async sign(user: { id: string; role: Role; email: string }, sessionId?: string): Promise<{ token: string; expiresAt: Date }> {
      const now = Math.floor(deps.clock.now().getTime() / 1000);
      const exp = now + deps.ttlSeconds;
      const token = await new SignJWT({ role: user.role, email: user.email, ...(sessionId ? { sid: sessionId } : {}) })
        .setProtectedHeader({ alg: ALG, typ: TYP })
        .setSubject(user.id)
        .setIssuer(deps.issuer)
        .setAudience(deps.audience)
        .setIssuedAt(now)
        .setExpirationTime(exp)
        .sign(key);
      return { token, expiresAt: new Date(exp * 1000) };
    },
    async verify(token: string): Promise<AccessClaims> {
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: [ALG],
          issuer: deps.issuer,
          audience: deps.audience,
          typ: TYP,
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          currentDate: deps.clock.now(),
          requiredClaims: ['sub', 'exp', 'iat'],
        });
        if (!ROLES.includes(payload.role as Role)) throw new AppError('UNAUTHENTICATED', 'invalid access token');
        if (payload.sid !== undefined && typeof payload.sid !== 'string') throw new AppError('UNAUTHENTICATED', 'invalid access token');
        return payload as unknown as AccessClaims;
      } catch (err) {
        if (err instanceof AppError) throw err;
        const expired = err instanceof errors.JWTExpired;
        throw new AppError('UNAUTHENTICATED', expired ? 'access token expired' : 'invalid access token');
      }
    },
  };
}

export type AccessTokens = ReturnType<typeof createAccessTokens>;

export const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** Opaque refresh token: 256 random bits; only its hash is stored. */
export function newRefreshToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: sha256(token) };
}

/**
 * API keys: `opk_<12 hex prefix>_<43 chars = 256 random bits>`. The prefix is
 * not secret and finds the row; the whole key is compared by SHA-256 in
 * constant time.
 */
const API_KEY = /^opk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export function newApiKey(): { secret: string; prefix: string; hash: string } {
  const prefix = randomBytes(6).toString('hex');
  const secret = `opk_${prefix}_${randomBytes(32).toString('base64url')}`;
  return { secret, prefix, hash: sha256(secret) };
}

export function parseApiKey(secret: string): { prefix: string } | null {
  const m = API_KEY.exec(secret);
  return m ? { prefix: m[1]! } : null;
}

export function apiKeyMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(sha256(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

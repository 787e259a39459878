import { LICENSE_UPDATED } from './licenses.events.js';
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { z } from 'zod';
import type { Clock } from '../../infra/clock.js';
import type { EventBus } from '../../infra/events.js';
import type { Logger } from '../../infra/logger.js';
import type { Outbox } from '../../infra/outbox.js';
import type { Database } from '../../infra/prisma.js';
import { AppError } from '../../lib/errors.js';
import { systemActor, type AuditActor } from '../../auth/actor.js';
import { type AuditRecorder } from '../../infra/audit-recorder.js';
import { formatPublicKeys, LICENSE_ALGORITHMS, LicenseKeyConfigError, parsePublicKeys, PLUGINS, type LicensePublicKey, type Plugin } from '../../lib/license-keys.js';

const DAY_MS = 86_400_000;
/** Longest license key accepted: real ones are a few hundred bytes. */
export const MAX_LICENSE_KEY_LENGTH = 8_192;
/** Longest public key text accepted by setLicensePublicKey: an Ed25519 PEM block is 113 bytes. */
export const MAX_PUBLIC_KEY_LENGTH = 16_384;
/** The `Setting` row holding the public keys set at run time (setLicensePublicKey), as PEM text. */
const RUNTIME_KEYS_SETTING = 'license_public_keys';
const RUNTIME_KEYS_SOURCE = 'publicKey';

export type LicenseStatus = 'ACTIVE' | 'EXPIRING' | 'EXPIRED';

export interface LicenseRecord {
  id: string;
  customer: string;
  plugins: Plugin[];
  issuedAt: Date;
  expiresAt: Date;
  notBefore: Date | null;
  maxServices: number | null;
  kid: string | null;
  activatedAt: Date;
  expiryWarnedAt: Date | null;
  expiredAt: Date | null;
}

/** The active license as clients see it; `activePlugins` is empty once it has expired. */
export interface LicenseView {
  customer: string;
  plugins: Plugin[];
  activePlugins: Plugin[];
  issuedAt: Date;
  expiresAt: Date;
  status: LicenseStatus;
  maxServices: number | null;
  activatedAt: Date;
}

export type LicenseAction = 'ACTIVATED' | 'EXPIRING' | 'EXPIRED';

/** The payload of `license:updated`. */
export interface LicenseUpdatedEvent {
  action: LicenseAction;
  message: string;
  license: LicenseView;
}

/** The seed's answer to `POST /api/v1/license/activate`. */
export interface ActivationAnswer {
  success: true;
  message: string;
  customer: string;
  plugins: Plugin[];
}

/**
 * The one plugin guard, for resolvers, routes and jobs alike: `require` throws LICENSE_REQUIRED
 * (GraphQL `extensions.plugin`, REST 403 ERR_1004 `details.plugin`); `has` answers without throwing.
 */
export interface LicenseGuard {
  require(plugin: Plugin): Promise<void>;
  has(plugin: Plugin): Promise<boolean>;
  /** The active license's service limit; null when there is none. */
  maxServices(): Promise<number | null>;
}

const claimsSchema = z.object({
  customer: z.string().trim().min(1).max(200),
  plugins: z.array(z.enum(PLUGINS)).max(PLUGINS.length).refine((p) => new Set(p).size === p.length, 'a plugin is listed twice'),
  iat: z.number().int(),
  exp: z.number().int(),
  nbf: z.number().int().optional(),
  maxServices: z.number().int().min(1).max(10_000_000).optional(),
});

const refuse = (reason: string, message: string, status: 'BAD_USER_INPUT' | 'VALIDATION_FAILED' = 'VALIDATION_FAILED') =>
  new AppError(status, `licenseKey: ${message}`, { field: 'licenseKey', reason });

export function licenseStatus(license: Pick<LicenseRecord, 'expiresAt'>, now: Date, warningDays: number): LicenseStatus {
  const left = license.expiresAt.getTime() - now.getTime();
  if (left <= 0) return 'EXPIRED';
  return left <= warningDays * DAY_MS ? 'EXPIRING' : 'ACTIVE';
}

export function createLicenseService(deps: {
  db: Database;
  clock: Clock;
  events: EventBus;
  /** license:updated goes through the outbox, written with the change: every instance must drop its cached copy. */
  outbox: Pick<Outbox, 'add' | 'nudge'>;
  logger: Logger;
  /** The keys of `LICENSE_PUBLIC_KEY`; those set with setLicensePublicKey are read from the database. */
  keys: readonly LicensePublicKey[];
  audit: AuditRecorder;
  /** How long an instance trusts its copy of the active license; `license:updated` also drops it. */
  cacheMs: number;
  warningDays: number;
}) {
  const { db, clock } = deps;

  // Measured on the monotonic clock: the cache is about this process's freshness, not domain time.
  // No request waits on Redis for it: it is read from PostgreSQL and dropped by `license:updated`.
  // While Redis is down or frozen that event does not arrive (and an activation's publish gives up
  // after REDIS_COMMAND_TIMEOUT_MS, see events.ts), so other instances see a change within
  // LICENSE_CACHE_SECONDS instead of at once: the expiry is what bounds a stale copy.
  let cache: { at: number; value: Promise<LicenseRecord | null> } | undefined;
  let listener: { stop(): Promise<void> } | undefined;

  async function read(): Promise<LicenseRecord | null> {
    const row = await db.license.findFirst({ orderBy: { seq: 'desc' } });
    return row && { ...row, plugins: row.plugins.filter((p): p is Plugin => (PLUGINS as readonly string[]).includes(p)) };
  }

  function active(): Promise<LicenseRecord | null> {
    const t = performance.now();
    if (cache && t - cache.at < deps.cacheMs) return cache.value;
    const value = read();
    cache = { at: t, value };
    // A failed read is not remembered: the next caller tries again.
    value.catch(() => {
      if (cache?.value === value) cache = undefined;
    });
    return value;
  }

  function view(l: LicenseRecord, now = clock.now()): LicenseView {
    const status = licenseStatus(l, now, deps.warningDays);
    return {
      customer: l.customer,
      plugins: l.plugins,
      activePlugins: status === 'EXPIRED' ? [] : l.plugins,
      issuedAt: l.issuedAt,
      expiresAt: l.expiresAt,
      status,
      maxServices: l.maxServices,
      activatedAt: l.activatedAt,
    };
  }

  async function has(plugin: Plugin): Promise<boolean> {
    const l = await active();
    return !!l && l.plugins.includes(plugin) && l.expiresAt.getTime() > clock.now().getTime();
  }

  /** Inside the transaction of the change; the relay publishes it (to every instance's cache and to subscribers). */
  const announce = (tx: Parameters<Outbox['add']>[0], event: LicenseUpdatedEvent) => deps.outbox.add(tx, LICENSE_UPDATED, event);

  /** The keys set at run time; a row that no longer parses is logged and ignored, never fatal. */
  async function runtimeKeys(): Promise<LicensePublicKey[]> {
    const row = await db.setting.findUnique({ where: { key: RUNTIME_KEYS_SETTING } });
    try {
      return parsePublicKeys(row?.value, { source: RUNTIME_KEYS_SOURCE, files: false });
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message }, 'ignored the license public keys stored in the database');
      return [];
    }
  }

  /**
   * Every key that verifies licenses: `LICENSE_PUBLIC_KEY`, then those set at run time. Read from
   * the database at each verification (activations are rare), so a key set on one instance is used
   * by every instance at once, with no cache to drop.
   */
  async function publicKeys(): Promise<LicensePublicKey[]> {
    const stored = await runtimeKeys();
    return [...deps.keys, ...stored.filter((k) => !deps.keys.some((c) => c.thumbprint === k.thumbprint))];
  }

  const describeKeys = (list: readonly LicensePublicKey[]) => list.map((k) => ({ kid: k.name, thumbprint: k.thumbprint }));

  /** Verifies a key against the configured public keys; every refusal names licenseKey and why. */
  async function verify(token: string, now: Date): Promise<{ claims: z.output<typeof claimsSchema>; kid: string | null }> {
    const keys = await publicKeys();
    if (!keys.length) throw refuse('no_public_key', 'this server has no LICENSE_PUBLIC_KEY configured and none was set with setLicensePublicKey, so no license can be verified');
    if (token.split('.').length !== 3) throw refuse('malformed', 'not a compact JWS (three base64url parts separated by dots)', 'BAD_USER_INPUT');
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw refuse('malformed', 'the header is not base64url-encoded JSON', 'BAD_USER_INPUT');
    }
    if (!(LICENSE_ALGORITHMS as readonly unknown[]).includes(header.alg)) {
      throw refuse('algorithm', `algorithm ${JSON.stringify(header.alg ?? null)} is not accepted; licenses are signed with Ed25519 (EdDSA)`);
    }
    const candidates = header.kid === undefined ? keys : keys.filter((k) => k.name === header.kid || k.thumbprint === header.kid);
    if (!candidates.length) throw refuse('unknown_kid', `no configured public key has kid ${JSON.stringify(header.kid)}`);
    let lastError: unknown;
    for (const candidate of candidates) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, candidate.key, { algorithms: [...LICENSE_ALGORITHMS], currentDate: now, requiredClaims: ['exp', 'iat'] }));
      } catch (err) {
        lastError = err;
        // Another configured key may have signed it (rotation without kid).
        if (err instanceof joseErrors.JWSSignatureVerificationFailed) continue;
        if (err instanceof joseErrors.JWTExpired) throw refuse('expired', `the license expired at ${new Date(Number(err.payload.exp) * 1000).toISOString()}`);
        if (err instanceof joseErrors.JWTClaimValidationFailed) {
          if (err.claim === 'nbf') throw refuse('not_yet_valid', `the license is not valid before ${new Date(Number(err.payload.nbf) * 1000).toISOString()}`);
          throw refuse('claims', `claim ${err.claim}: ${err.reason === 'missing' ? 'missing' : err.message}`);
        }
        throw refuse('malformed', `not a readable signed license (${(err as Error).message})`, 'BAD_USER_INPUT');
      }
      const parsed = claimsSchema.safeParse(payload);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw refuse('claims', `claim ${issue.path.join('.') || '?'}: ${issue.message}`);
      }
      return { claims: parsed.data, kid: candidate.name ?? candidate.thumbprint };
    }
    deps.logger.debug({ err: (lastError as Error | undefined)?.message }, 'license signature refused');
    throw refuse('signature', 'the signature does not match any configured public key');
  }

  return {
    has,
    active,

    async require(plugin: Plugin): Promise<void> {
      if (await has(plugin)) return;
      const l = await active();
      const why = !l
        ? 'no license is active'
        : !l.plugins.includes(plugin)
          ? `the active license (${l.customer}) does not include it`
          : `the license expired at ${l.expiresAt.toISOString()}`;
      throw new AppError('LICENSE_REQUIRED', `the ${plugin} plugin needs a license: ${why}`, { plugin });
    },

    async maxServices(): Promise<number | null> {
      return (await active())?.maxServices ?? null;
    },

    /** The active license, or null; the same view for every instance. */
    async current(): Promise<LicenseView | null> {
      const l = await active();
      return l && view(l);
    },

    /**
     * Verifies and activates a key; anything wrong with it leaves the active license as it was.
     * The key itself is never stored or logged, only its hash.
     */
    async activate(licenseKey: string, via: 'rest' | 'graphql' | 'cli', actor: AuditActor): Promise<ActivationAnswer & { license: LicenseView }> {
      const now = clock.now();
      const { claims, kid } = await verify(licenseKey.trim(), now);
      const license = await db.$transaction(async (tx) => {
        const created = await tx.license.create({
          data: {
            customer: claims.customer,
            plugins: claims.plugins,
            issuedAt: new Date(claims.iat * 1000),
            expiresAt: new Date(claims.exp * 1000),
            notBefore: claims.nbf === undefined ? null : new Date(claims.nbf * 1000),
            maxServices: claims.maxServices ?? null,
            kid,
            keyHash: createHash('sha256').update(licenseKey.trim()).digest('hex'),
            activatedAt: now,
            activatedById: actor.type === 'USER' ? actor.id : null,
            activatedVia: via,
            ip: actor.ip ?? null,
          },
        });
        const { customer, plugins, issuedAt, expiresAt, notBefore, maxServices, keyHash } = created;
        const activated = view({ ...created, plugins: claims.plugins }, now);
        await announce(tx, { action: 'ACTIVATED', message: `License activated for ${activated.customer}`, license: activated });
        await deps.audit.record(tx, actor, { action: 'license.activate', resourceType: 'license', resourceId: created.id, after: { customer, plugins, issuedAt, expiresAt, notBefore, maxServices, kid, keyHash, via } });
        return activated;
      });
      cache = undefined;
      deps.outbox.nudge();
      deps.logger.info({ customer: license.customer, plugins: license.plugins, expiresAt: license.expiresAt, via }, 'license activated');
      return { success: true, message: 'License activated', customer: license.customer, plugins: license.plugins, license };
    },

    /**
     * Sets the public keys used besides `LICENSE_PUBLIC_KEY` (one or more Ed25519 SPKI PEM blocks,
     * each optionally under a `kid: <name>` line), replacing those set before; empty text removes
     * them. Stored in the database, so every instance verifies with them from the next activation
     * on. Audited as `license.set_public_key` with the keys' JWK thumbprints, nothing more.
     */
    async setPublicKeys(publicKey: string, actor: AuditActor): Promise<{ thumbprints: string[] }> {
      let parsed: LicensePublicKey[];
      try {
        parsed = parsePublicKeys(publicKey, { source: RUNTIME_KEYS_SOURCE, files: false });
      } catch (err) {
        if (!(err instanceof LicenseKeyConfigError)) throw err;
        throw new AppError('BAD_USER_INPUT', err.message, { field: RUNTIME_KEYS_SOURCE });
      }
      const before = await runtimeKeys();
      await db.$transaction(async (tx) => {
        if (parsed.length) {
          const value = formatPublicKeys(parsed);
          await tx.setting.upsert({ where: { key: RUNTIME_KEYS_SETTING }, create: { key: RUNTIME_KEYS_SETTING, value }, update: { value } });
        } else {
          await tx.setting.deleteMany({ where: { key: RUNTIME_KEYS_SETTING } });
        }
        await deps.audit.record(tx, actor, {
          action: 'license.set_public_key',
          resourceType: 'license_public_key',
          resourceId: parsed.map((k) => k.thumbprint).join(',') || null,
          before: { keys: describeKeys(before) },
          after: { keys: describeKeys(parsed) },
        });
      });
      deps.logger.info({ thumbprints: parsed.map((k) => k.thumbprint) }, parsed.length ? 'license public keys set' : 'license public keys removed');
      return { thumbprints: parsed.map((k) => k.thumbprint) };
    },

    /** Activations, newest first. */
    async history(limit = 50) {
      const rows = await db.license.findMany({ orderBy: { seq: 'desc' }, take: limit });
      return rows.map((r) => ({ ...r, plugins: r.plugins as Plugin[] }));
    },

    /**
     * The expiry job: announces the warning window and the expiry of the active license, each once
     * (only the statement that sets the marker writes the notice, in its transaction), so any number
     * of workers may run it, and a notice is not lost to a Redis outage.
     */
    async checkExpiry(): Promise<LicenseAction | null> {
      const l = await read();
      if (!l) return null;
      const now = clock.now();
      const status = licenseStatus(l, now, deps.warningDays);
      if (status === 'EXPIRED' && !l.expiredAt) {
        const count = await db.$transaction(async (tx) => {
          const { count: n } = await tx.license.updateMany({ where: { id: l.id, expiredAt: null }, data: { expiredAt: now } });
          if (!n) return 0;
          await announce(tx, { action: 'EXPIRED', message: `The license of ${l.customer} expired at ${l.expiresAt.toISOString()}; its plugins are off`, license: view(l, now) });
          // Its plugins turned off: a change of what the deployment may do, made by Opsgraph itself.
          await deps.audit.record(tx, systemActor('licenses.check-expiry'), { action: 'license.expire', resourceType: 'license', resourceId: l.id, before: { expiredAt: null }, after: { expiredAt: now } });
          return n;
        });
        if (!count) return null;
        cache = undefined;
        deps.outbox.nudge();
        return 'EXPIRED';
      }
      if (status === 'EXPIRING' && !l.expiryWarnedAt) {
        const count = await db.$transaction(async (tx) => {
          const { count: n } = await tx.license.updateMany({ where: { id: l.id, expiryWarnedAt: null }, data: { expiryWarnedAt: now } });
          if (!n) return 0;
          const days = Math.ceil((l.expiresAt.getTime() - now.getTime()) / DAY_MS);
          await announce(tx, { action: 'EXPIRING', message: `The license of ${l.customer} expires in ${days} day(s), at ${l.expiresAt.toISOString()}`, license: view(l, now) });
          return n;
        });
        if (!count) return null;
        deps.outbox.nudge();
        return 'EXPIRING';
      }
      return null;
    },

    /** Drops the cached license whenever any instance announces a change. */
    start(): void {
      listener ??= deps.events.listen([LICENSE_UPDATED], () => void (cache = undefined));
    },

    async stop(): Promise<void> {
      await listener?.stop();
      listener = undefined;
    },
  };
}

export type LicenseService = ReturnType<typeof createLicenseService>;

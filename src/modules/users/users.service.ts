import type { SessionUser } from '../../auth/sessions.js';
import { sqlOf } from '../../infra/sql.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { generatePassword, hashPassword } from '../../auth/passwords.js';
import type { Role } from '../../auth/roles.js';
import { normalizeEmail, type Sessions } from '../../auth/sessions.js';
import type { Clock } from '../../infra/clock.js';
import type { Database } from '../../infra/prisma.js';
import { AppError } from '../../lib/errors.js';
import { assertUuid } from '../../lib/ids.js';
import { systemActor, type AuditActor } from '../../auth/actor.js';
import { type AuditRecorder } from '../../infra/audit-recorder.js';

/** A user as GraphQL shows it: the same shape a session answers with (never the password hash). */
export type UserRecord = SessionUser;

/** A user as other people see them where a record names them (ticket assignee, comment author). */
export interface UserSummary {
  id: string;
  email: string;
}

const PUBLIC_FIELDS = { id: true, email: true, role: true, disabled: true, createdAt: true, updatedAt: true } as const;
// Any constants work; they only have to be the same in every instance.
const FIRST_ADMIN_LOCK = 7_314_001;
const ADMIN_LOCK = 7_314_002;

const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === 'P2002';

/** People and their roles. The password hash never leaves this service. */
export function createUsersService(deps: { db: Database; clock: Clock; audit: AuditRecorder; sessions: Pick<Sessions, 'confirmPassword'> }) {
  /** Refuses a change that would leave nobody able to administer Opsgraph. */
  async function assertAnAdminRemains(tx: Prisma.TransactionClient): Promise<void> {
    const admins = await tx.user.count({ where: { role: 'ADMIN', disabled: false } });
    if (admins === 0) throw new AppError('CONFLICT', 'this would leave no enabled admin', { field: 'role' });
  }

  return {
    list(): Promise<UserRecord[]> {
      return deps.db.user.findMany({ select: PUBLIC_FIELDS, orderBy: { createdAt: 'asc' } });
    },

    /** Who a link names (a ticket's assignee, a comment's author): id and email, nothing a viewer may not see. */
    async summaries(ids: readonly string[]): Promise<Map<string, UserSummary>> {
      const users = await deps.db.user.findMany({ where: { id: { in: [...ids] } }, select: { id: true, email: true } });
      return new Map(users.map((u) => [u.id, u]));
    },

    async get(id: string): Promise<UserRecord> {
      const user = await deps.db.user.findUnique({ where: { id: assertUuid(id) }, select: PUBLIC_FIELDS });
      if (!user) throw new AppError('NOT_FOUND', `no user with id ${id}`, { field: 'id' });
      return user;
    },

    /** The user with this email (compared as login compares it), or NOT_FOUND. */
    async getByEmail(email: string): Promise<UserRecord> {
      const user = await deps.db.user.findUnique({ where: { email: normalizeEmail(email) }, select: PUBLIC_FIELDS });
      if (!user) throw new AppError('NOT_FOUND', `no user with email ${normalizeEmail(email)}`, { field: 'email' });
      return user;
    },

    /**
     * A signed-in user changes their own password. The current one is checked like a login
     * (rate limit, lockout, security log); a wrong one is BAD_USER_INPUT naming currentPassword.
     * Every other session of the user ends; the one the access token belongs to (`sessionId`)
     * stays open when it is still open, otherwise every session ends. Audited as
     * `user.password_change`, with no password in it.
     */
    async changePassword(
      input: { userId: string; sessionId?: string; currentPassword: string; newPassword: string },
      actor: AuditActor,
    ): Promise<{ sessionsEnded: number; currentSessionKept: boolean }> {
      const user = await deps.db.user.findUnique({ where: { id: assertUuid(input.userId) }, select: PUBLIC_FIELDS });
      if (!user) throw new AppError('NOT_FOUND', `no user with id ${input.userId}`, { field: 'id' });
      await deps.sessions.confirmPassword(user.email, input.currentPassword, { ip: actor.ip ?? undefined, requestId: actor.requestId ?? undefined });
      // Only now: before the current password is confirmed, this would tell a guesser they guessed right.
      if (input.newPassword === input.currentPassword) {
        throw new AppError('BAD_USER_INPUT', 'newPassword: must differ from the current password', { field: 'newPassword' });
      }
      const passwordHash = await hashPassword(input.newPassword);
      return deps.db.$transaction(async (tx) => {
        const open = { userId: user.id, revokedAt: null };
        const current = input.sessionId ? await tx.refreshToken.count({ where: { ...open, familyId: input.sessionId } }) : 0;
        const others = current ? { ...open, familyId: { not: input.sessionId } } : open;
        const families = await tx.refreshToken.findMany({ where: others, distinct: ['familyId'], select: { familyId: true } });
        await tx.user.update({ where: { id: user.id }, data: { passwordHash } });
        await tx.refreshToken.updateMany({ where: others, data: { revokedAt: deps.clock.now() } });
        const outcome = { sessionsEnded: families.length, currentSessionKept: current > 0 };
        await deps.audit.record(tx, actor, { action: 'user.password_change', resourceType: 'user', resourceId: user.id, after: { email: user.email, ...outcome } });
        return outcome;
      });
    },

    async create(input: { email: string; password: string; role: Role }, actor: AuditActor): Promise<UserRecord> {
      const passwordHash = await hashPassword(input.password);
      try {
        return await deps.db.$transaction(async (tx) => {
          const user = await tx.user.create({ data: { email: normalizeEmail(input.email), passwordHash, role: input.role }, select: PUBLIC_FIELDS });
          await deps.audit.record(tx, actor, { action: 'user.create', resourceType: 'user', resourceId: user.id, after: user });
          return user;
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw new AppError('CONFLICT', 'a user with this email exists', { field: 'email' });
        throw err;
      }
    },

    async update(id: string, input: { role?: Role | null; disabled?: boolean | null; password?: string | null }, actor: AuditActor): Promise<UserRecord> {
      assertUuid(id);
      const passwordHash = input.password ? await hashPassword(input.password) : undefined;
      return deps.db.$transaction(async (tx) => {
        // Changes to roles are serialised, so two admins demoting each other cannot both succeed.
        await sqlOf(tx).execute('SELECT pg_advisory_xact_lock($1::bigint)', [ADMIN_LOCK]);
        const before = await tx.user.findUnique({ where: { id }, select: PUBLIC_FIELDS });
        if (!before) throw new AppError('NOT_FOUND', `no user with id ${id}`, { field: 'id' });
        const user = await tx.user.update({
          where: { id },
          data: { role: input.role ?? undefined, disabled: input.disabled ?? undefined, passwordHash },
          select: PUBLIC_FIELDS,
        });
        // Only a change of role or of disabled can take the last admin away; a new password alone
        // must work even where there is no admin yet (users made with the CLI before the first start).
        if (input.role || input.disabled) await assertAnAdminRemains(tx);
        // A disabled user or a new password ends every open session.
        if (input.disabled || passwordHash) {
          await tx.refreshToken.updateMany({ where: { userId: id, revokedAt: null }, data: { revokedAt: deps.clock.now() } });
        }
        // The new password itself is redacted; its presence records that it was changed.
        await deps.audit.record(tx, actor, { action: 'user.update', resourceType: 'user', resourceId: id, before, after: { ...user, password: input.password ?? undefined } });
        return user;
      });
    },

    /**
     * Creates the first admin when there is no user at all. Several instances may
     * start at once: an advisory lock makes exactly one of them do it. Returns the
     * generated password when none was configured, for the caller to print once.
     */
    async ensureFirstAdmin(config: { email: string; password?: string }): Promise<{ email: string; generatedPassword?: string } | null> {
      return deps.db.$transaction(async (tx) => {
        await sqlOf(tx).execute('SELECT pg_advisory_xact_lock($1::bigint)', [FIRST_ADMIN_LOCK]);
        if ((await tx.user.count()) > 0) return null;
        const email = normalizeEmail(config.email);
        const password = config.password ?? generatePassword();
        const user = await tx.user.create({ data: { email, passwordHash: await hashPassword(password), role: 'ADMIN' }, select: PUBLIC_FIELDS });
        await deps.audit.record(tx, systemActor('bootstrap'), { action: 'user.create', resourceType: 'user', resourceId: user.id, after: user });
        return { email, generatedPassword: config.password ? undefined : password };
      });
    },
  };
}

export type UsersService = ReturnType<typeof createUsersService>;

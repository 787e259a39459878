import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readdir, realpath, rename, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import type { Backup } from '../../generated/prisma/client.js';
import { systemActor, type AuditActor } from '../../auth/actor.js';
import type { BackupPaths } from '../../config.js';
import type { AuditRecorder } from '../../infra/audit-recorder.js';
import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import type { Outbox } from '../../infra/outbox.js';
import type { Database } from '../../infra/prisma.js';
import { inTransaction, sqlOf, type Sql } from '../../infra/sql.js';
import { backupId, chainState, compressionRatio, isWithin } from '../../lib/backups.js';
import { AppError } from '../../lib/errors.js';
import { pageInfo, resolvePage, type Page, type PageRequest } from '../../lib/pagination.js';
import { excludeMatcher, extractArchive, readEntries, sha256Of, writeArchive, type ManifestEntry, type PriorEntry } from './backups.archive.js';
import { BACKUP_COMPLETED, BACKUP_FAILED } from './backups.events.js';
import type { BackupsService } from './backups.service.js';

export type BackupType = 'full' | 'incremental';
export type BackupStatus = 'pending' | 'running' | 'completed' | 'failed';

/** A server-run backup as REST, GraphQL and the events show it (the seed's record, plus its chain and service). */
export interface BackupRecord {
  id: string;
  type: BackupType;
  status: BackupStatus;
  createdAt: Date;
  completedAt: Date | null;
  stats: { fileCount: number; originalSize: number; compressedSize: number; compressionRatio: number; duration: number } | null;
  location: string | null;
  checksum: string | null;
  metadata: unknown;
  verification: { lastVerified: Date; status: string } | null;
  parentId: string | null;
  serviceId: string | null;
  compression: number;
  exclude: string[];
  error: string | null;
  deletedAt: Date | null;
}

export interface CreateBackupInput {
  type: BackupType;
  compression?: number;
  exclude?: string[];
  metadata?: Record<string, unknown> | null;
  serviceId?: string | null;
}

export interface VerifyOutcome {
  valid: boolean;
  checksumMatch: boolean;
  errors: string[];
  verifiedAt: Date;
}

export interface RestoreOutcome {
  restoredFiles: number;
  totalSize: number;
  duration: number;
  errors: string[];
  target: string;
}

export interface BackupStatsRecord {
  totalBackups: number;
  fullBackups: number;
  incrementalBackups: number;
  totalStorage: number;
  compressedStorage: number;
  uncompressedStorage: number;
  compressionRatio: number;
  oldestBackup: Date | null;
  newestBackup: Date | null;
  averageSize: number;
}

export const BACKUP_SORTS = ['created_at', 'size', 'type'] as const;
const SORT_COLUMNS = { created_at: 'createdAt', size: 'compressedSize', type: 'type' } as const;

/** At most this many problems are listed in an answer; the count says how many there were. */
const MAX_ERRORS = 100;

function toRecord(r: Backup): BackupRecord {
  const done = r.status === 'completed';
  return {
    id: r.id,
    type: r.type,
    status: r.status,
    createdAt: r.createdAt,
    completedAt: r.completedAt,
    stats: done
      ? {
          fileCount: r.fileCount ?? 0,
          originalSize: Number(r.originalSize ?? 0),
          compressedSize: Number(r.compressedSize ?? 0),
          compressionRatio: compressionRatio(Number(r.originalSize ?? 0), Number(r.compressedSize ?? 0)),
          duration: r.durationMs ?? 0,
        }
      : null,
    location: r.deletedAt ? null : r.location,
    checksum: r.checksum ? `sha256:${r.checksum}` : null,
    metadata: r.metadata ?? null,
    verification: r.lastVerifiedAt ? { lastVerified: r.lastVerifiedAt, status: r.verificationStatus ?? 'unknown' } : null,
    parentId: r.parentId,
    serviceId: r.serviceId,
    compression: r.compression,
    exclude: r.exclude,
    error: r.error,
    deletedAt: r.deletedAt,
  };
}

const capped = (errors: string[]) => (errors.length > MAX_ERRORS ? [...errors.slice(0, MAX_ERRORS), `and ${errors.length - MAX_ERRORS} more`] : errors);

/** Session advisory locks: one run at a time per deployment, and one per backup so a crashed run is told from a live one. */
const RUN_LOCK = `hashtext('opsgraph:backup-run'), 0`;
const runLockOf = (param: string) => `hashtext('opsgraph:backup'), hashtext(${param})`;

const partialName = (id: string) => `.${id}.tar.gz.partial`;
const PARTIAL = /^\.(backup_\d{8}_\d{6}_[0-9a-f]{6})\.tar\.gz\.partial$/;

/** fsync of a directory: a rename inside it survives a power cut. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

const gone = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

export interface BackupRunsDeps {
  db: Database;
  pool: pg.Pool;
  clock: Clock;
  logger: Logger;
  audit: AuditRecorder;
  outbox: Pick<Outbox, 'add' | 'nudge'>;
  paths: BackupPaths;
  waitSeconds: number;
  retentionCount?: number;
  reports: Pick<BackupsService, 'recordRunIn' | 'recordVerified'>;
  serviceExists: (id: string) => Promise<boolean>;
  /** Queues the run of a pending record on the backups worker. */
  enqueue: (backupId: string) => Promise<unknown>;
}

/**
 * Backups the server makes itself: records, the run on the worker (one at a time per deployment,
 * under a session advisory lock), crash recovery, retention, verification, restore and deletion.
 */
export function createBackupRuns(deps: BackupRunsDeps) {
  const { db, clock, paths } = deps;
  const sql = sqlOf(deps.pool);
  const log = deps.logger.child({ module: 'backups' });

  async function find(id: string): Promise<Backup> {
    const row = await db.backup.findUnique({ where: { id } });
    if (!row) throw new AppError('NOT_FOUND', `no backup ${id}`, { id });
    return row;
  }

  /** The newest completed backup whose archive is still there: an incremental's parent. */
  const newestCompleted = (except?: string) =>
    db.backup.findFirst({
      where: { status: 'completed', deletedAt: null, ...(except ? { id: { not: except } } : {}) },
      orderBy: [{ completedAt: 'desc' }, { seq: 'desc' }],
    });

  /** The chain a backup restores from, oldest (its full backup) first; every archive must be there. */
  async function chainOf(row: Backup): Promise<Backup[]> {
    const chain = [row];
    for (let r = row; r.parentId; ) {
      r = await find(r.parentId);
      chain.unshift(r);
    }
    if (chain[0]!.type !== 'full') throw new AppError('CONFLICT', `backup ${row.id} no longer has the full backup its chain started from`, { id: row.id });
    for (const r of chain) {
      if (r.status !== 'completed' || r.deletedAt || !r.location) {
        throw new AppError('CONFLICT', `backup ${row.id} needs ${r.id}, whose archive is ${r.deletedAt ? 'deleted' : 'not complete'}`, { id: row.id, missing: r.id });
      }
    }
    return chain;
  }

  /** The tree as of a backup: for every path the newest mention in its chain, deletions left out. */
  async function treeAsOf(row: Backup): Promise<Map<string, PriorEntry>> {
    const rows = await sql.query<{ path: string; kind: 'file' | 'dir'; size: string; mode: number; mtime: Date; deleted: boolean }>({
      name: 'opsgraph.backups.tree',
      text: `WITH RECURSIVE chain AS (
               SELECT id, "parentId", 0 AS depth FROM "Backup" WHERE id = $1
               UNION ALL SELECT b.id, b."parentId", c.depth + 1 FROM "Backup" b JOIN chain c ON b.id = c."parentId")
             SELECT DISTINCT ON (f.path) f.path, f.kind, f.size, f.mode, f.mtime, f.deleted
             FROM "BackupFile" f JOIN chain c ON c.id = f."backupId"
             ORDER BY f.path, c.depth`,
      values: [row.id],
    });
    const tree = new Map<string, PriorEntry>();
    for (const r of rows) if (!r.deleted) tree.set(r.path, { kind: r.kind, size: Number(r.size), mtimeMs: r.mtime.getTime(), mode: r.mode });
    return tree;
  }

  async function insertManifest(id: string, batch: ManifestEntry[]): Promise<void> {
    await sql.execute({
      name: 'opsgraph.backups.manifest',
      text: `INSERT INTO "BackupFile" ("backupId", path, kind, size, mode, mtime, sha256, deleted)
             SELECT $1, * FROM unnest($2::text[], $3::text[], $4::bigint[], $5::int[], $6::timestamptz[], $7::text[], $8::boolean[])`,
      values: [
        id,
        batch.map((e) => e.path),
        batch.map((e) => e.kind),
        batch.map((e) => e.size),
        batch.map((e) => e.mode),
        batch.map((e) => e.mtime),
        batch.map((e) => e.sha256),
        batch.map((e) => e.deleted),
      ],
    });
  }

  /** Marks a run failed (with its event, through the outbox), removes its partial archive and manifest. */
  async function failRun(row: Backup, error: string): Promise<void> {
    await rm(path.join(paths.backupDir, partialName(row.id)), { force: true });
    // The service's report goes in the same commit as the record, so nobody sees one without the other.
    const { after } = await inTransaction(deps.pool, async (tx) => {
      await tx.execute(`DELETE FROM "BackupFile" WHERE "backupId" = $1`, [row.id]);
      const [r] = await tx.query<Backup>(
        `UPDATE "Backup" SET status = 'failed', error = $2, "completedAt" = $3 WHERE id = $1 AND status IN ('pending', 'running') RETURNING *`,
        [row.id, error.slice(0, 2_000), clock.now()],
      );
      if (!r) return { after: null };
      await deps.outbox.add(tx, BACKUP_FAILED, { backup: toRecord(r) });
      if (!r.serviceId) return { after: null };
      const message = `server backup ${row.id} failed: ${error}`;
      return { after: await deps.reports.recordRunIn(tx, { backupId: row.id, serviceId: r.serviceId, status: 'failed', message, completedAt: r.completedAt! }, systemActor('backups.run')) };
    });
    deps.outbox.nudge();
    await after?.();
  }

  /** Takes a session advisory lock on `client`, polling: a blocking wait would outlive the statement timeouts. */
  async function lockOn(client: pg.PoolClient, lock: string, values: unknown[], wait: boolean): Promise<boolean> {
    for (;;) {
      const { rows } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${lock}) AS ok`, values);
      if (rows[0]!.ok || !wait) return rows[0]!.ok;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async function execute(row: Backup): Promise<void> {
    const t0 = performance.now();
    let parent: Backup | null = null;
    let prior: Map<string, PriorEntry> | undefined;
    if (row.type === 'incremental') {
      parent = await newestCompleted(row.id);
      if (!parent) return failRun(row, 'no completed backup to be incremental to');
      prior = await treeAsOf(parent);
    }
    // An incremental that names no exclusions keeps its parent's, or every excluded file would reappear in it.
    const exclude = parent && !row.exclude.length ? parent.exclude : row.exclude;
    await db.backup.update({
      where: { id: row.id },
      data: { status: 'running', startedAt: clock.now(), parentId: parent?.id ?? null, chainId: parent ? (parent.chainId ?? parent.id) : row.id, exclude },
    });
    const partial = path.join(paths.backupDir, partialName(row.id));
    const final = path.join(paths.backupDir, `${row.id}.tar.gz`);
    let summary;
    try {
      await mkdir(paths.backupDir, { recursive: true, mode: 0o700 });
      summary = await writeArchive({
        sources: paths.sources,
        skipDirs: [paths.backupDir, paths.restoreDir],
        exclude: excludeMatcher(exclude),
        level: row.compression,
        prior,
        file: partial,
        onEntries: (batch) => insertManifest(row.id, batch),
      });
      await rename(partial, final);
      await syncDir(paths.backupDir);
    } catch (err) {
      log.warn({ backup: row.id, err: (err as Error).message }, 'backup run failed');
      return failRun(row, (err as Error).message);
    }
    if (summary.skipped.length) log.warn({ backup: row.id, skipped: summary.skipped.slice(0, 20), count: summary.skipped.length }, 'links and special files are not archived');
    if (summary.unsteady.length) log.warn({ backup: row.id, files: summary.unsteady.slice(0, 20) }, 'files changed while they were archived');
    const durationMs = Math.round(performance.now() - t0);
    const { done, after } = await inTransaction(deps.pool, async (tx) => {
      const [r] = await tx.query<Backup>(
        `UPDATE "Backup" SET status = 'completed', "completedAt" = $2, "fileCount" = $3, "originalSize" = $4, "compressedSize" = $5,
           "durationMs" = $6, location = $7, checksum = $8, error = NULL
         WHERE id = $1 AND status = 'running' RETURNING *`,
        [row.id, clock.now(), summary.fileCount, summary.originalSize, summary.compressedSize, durationMs, final, summary.checksum],
      );
      if (!r) return { done: null, after: null };
      await deps.outbox.add(tx, BACKUP_COMPLETED, { backup: toRecord(r) });
      if (!r.serviceId) return { done: r, after: null };
      // The archive's size and the run's duration meet the service's sanity bounds like a report's.
      const after = await deps.reports.recordRunIn(
        tx,
        {
          backupId: r.id,
          serviceId: r.serviceId,
          status: 'success',
          sizeBytes: summary.compressedSize,
          durationSeconds: Math.floor(durationMs / 1_000),
          message: `server backup ${r.id}: ${summary.fileCount} files`,
          completedAt: r.completedAt!,
        },
        systemActor('backups.run'),
      );
      return { done: r, after };
    });
    deps.outbox.nudge();
    if (!done) return;
    await after?.();
    if (deps.retentionCount) await applyRetention(deps.retentionCount);
  }

  /** Keeps the newest `keep` completed full backups and their incrementals; older chains go, records and archives. */
  async function applyRetention(keep: number): Promise<number> {
    const removed = await inTransaction(deps.pool, async (tx) => {
      const doomed = await tx.query<Backup>(
        `WITH fulls AS (
           SELECT id, row_number() OVER (ORDER BY "completedAt" DESC, seq DESC) AS n
           FROM "Backup" WHERE type = 'full' AND status = 'completed' AND "deletedAt" IS NULL)
         SELECT b.* FROM "Backup" b
         WHERE b."chainId" IN (SELECT id FROM fulls WHERE n > $1)
           AND b.status IN ('completed', 'failed')
         ORDER BY b."createdAt" DESC
         FOR UPDATE`,
        [keep],
      );
      if (!doomed.length) return [];
      const ids = doomed.map((d) => d.id);
      // Records outside the doomed chains that still name one of them as parent keep their lineage as null.
      await tx.execute(`UPDATE "Backup" SET "parentId" = NULL WHERE "parentId" = ANY($1::text[]) AND NOT (id = ANY($1::text[]))`, [ids]);
      await tx.execute(`DELETE FROM "Backup" WHERE id = ANY($1::text[])`, [ids]);
      await deps.audit.record(
        tx,
        systemActor('backups.retention'),
        doomed.map((d) => ({ action: 'backup.delete', resourceType: 'backup', resourceId: d.id, before: toRecord(d) })),
      );
      return doomed;
    });
    for (const d of removed) if (d.location) await rm(d.location, { force: true });
    if (removed.length) log.info({ removed: removed.length, keep }, 'backup retention applied');
    return removed.length;
  }

  /** Whether the run of `id` is held by a live process (its session lock is taken). */
  async function withLockClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await deps.pool.connect();
    try {
      return await fn(client);
    } finally {
      await client.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
      client.release();
    }
  }

  async function run(id: string): Promise<string> {
    return withLockClient(async (client) => {
      await lockOn(client, RUN_LOCK, [], true);
      const row = await db.backup.findUnique({ where: { id } });
      if (!row) return 'gone';
      if (!(await lockOn(client, runLockOf('$1'), [id], false))) return 'held elsewhere';
      // Running, yet nobody holds its lock: the process that ran it died (this is its job, delivered again).
      if (row.status === 'running') {
        await failRun(row, 'interrupted: the worker running it stopped before it finished');
        return 'failed';
      }
      if (row.status !== 'pending') return row.status;
      try {
        await execute(row);
      } catch (err) {
        // Whatever went wrong (the database mid-run, a manifest insert), the record must not stay running.
        log.warn({ backup: id, err: (err as Error).message }, 'backup run failed');
        await failRun(row, (err as Error).message);
      }
      return (await find(id)).status;
    });
  }

  /**
   * At a worker's start: runs left `running` by a process that died (no live holder of their lock)
   * are marked failed, partial archives nobody is writing are removed, and pending records are
   * queued again (their job id makes that a no-op while the job exists).
   */
  async function recover(): Promise<{ failed: number; requeued: number }> {
    let failed = 0;
    const running = await db.backup.findMany({ where: { status: 'running' } });
    await withLockClient(async (client) => {
      for (const row of running) {
        if (!(await lockOn(client, runLockOf('$1'), [row.id], false))) continue;
        await failRun(row, 'interrupted: the worker running it stopped before it finished');
        await client.query(`SELECT pg_advisory_unlock(${runLockOf('$1')})`, [row.id]);
        failed++;
      }
    });
    const names = await readdir(paths.backupDir).catch((err) => (gone(err) ? [] : Promise.reject(err)));
    const live = new Set((await db.backup.findMany({ where: { status: 'running' }, select: { id: true } })).map((r) => r.id));
    for (const n of names) {
      const m = PARTIAL.exec(n);
      if (m && !live.has(m[1]!)) await rm(path.join(paths.backupDir, n), { force: true });
    }
    const pending = await db.backup.findMany({ where: { status: 'pending' }, select: { id: true } });
    for (const p of pending) await deps.enqueue(p.id);
    if (failed || pending.length) log.warn({ failed, requeued: pending.length }, 'backup runs recovered at start');
    return { failed, requeued: pending.length };
  }

  /** Polls the record until it has finished or `ms` have passed: works whichever process runs it, Redis events or not. */
  async function waitFor(id: string, ms: number): Promise<Backup> {
    const deadline = performance.now() + ms;
    let every = 25;
    for (;;) {
      const row = await find(id);
      if (row.status === 'completed' || row.status === 'failed' || performance.now() >= deadline) return row;
      await new Promise((r) => setTimeout(r, Math.min(every, Math.max(1, deadline - performance.now()))));
      every = Math.min(500, every * 2);
    }
  }

  async function create(input: CreateBackupInput, actor: AuditActor, options: { scheduled?: boolean } = {}): Promise<Backup> {
    if (input.serviceId && !(await deps.serviceExists(input.serviceId))) {
      throw new AppError('NOT_FOUND', `no service ${input.serviceId}`, { field: 'serviceId', value: input.serviceId });
    }
    let type = input.type;
    if (type === 'incremental' && !(await newestCompleted())) {
      // A schedule's first incremental has nothing to build on: it starts the chain instead of failing every tick.
      if (!options.scheduled) throw new AppError('CONFLICT', 'an incremental backup needs an earlier completed backup; make a full one first', { field: 'type' });
      type = 'full';
    }
    const now = clock.now();
    const id = backupId(now, randomBytes(3).toString('hex'));
    return db.$transaction(async (tx) => {
      const row = await tx.backup.create({
        data: {
          id,
          type,
          status: 'pending',
          compression: input.compression ?? 6,
          exclude: input.exclude ?? [],
          metadata: (input.metadata ?? undefined) as never,
          serviceId: input.serviceId ?? null,
          createdAt: now,
        },
      });
      await deps.audit.record(tx, actor, { action: 'backup.create', resourceType: 'backup', resourceId: id, after: toRecord(row) });
      return row;
    });
  }

  async function verifyRow(row: Backup, deep: boolean): Promise<VerifyOutcome> {
    const errors: string[] = [];
    let checksumMatch = false;
    try {
      checksumMatch = (await sha256Of(row.location!)) === row.checksum;
      if (!checksumMatch) errors.push(`the archive's sha256 is not the recorded sha256:${row.checksum}`);
    } catch (err) {
      errors.push(gone(err) ? `the archive ${row.location} is missing` : `the archive cannot be read: ${(err as Error).message}`);
    }
    if (deep && errors.length === 0) {
      const manifest = await db.backupFile.findMany({ where: { backupId: row.id, deleted: false }, select: { path: true, kind: true, size: true, sha256: true } });
      try {
        const { entries, problems } = await readEntries(row.location!);
        errors.push(...problems);
        for (const m of manifest) {
          const e = entries.get(m.path);
          if (!e) errors.push(`${m.path}: in the manifest, not in the archive`);
          else if (e.kind !== m.kind) errors.push(`${m.path}: a ${e.kind} in the archive, a ${m.kind} in the manifest`);
          else if (m.kind === 'file' && (e.sha256 !== m.sha256 || e.size !== Number(m.size))) errors.push(`${m.path}: content does not match the manifest's sha256`);
          entries.delete(m.path);
        }
        for (const extra of entries.keys()) errors.push(`${extra}: in the archive, not in the manifest`);
      } catch (err) {
        errors.push(`the archive cannot be read: ${(err as Error).message}`);
      }
    }
    const valid = checksumMatch && errors.length === 0;
    const verifiedAt = clock.now();
    await db.backup.update({ where: { id: row.id }, data: { lastVerifiedAt: verifiedAt, verificationStatus: valid ? 'valid' : 'invalid' } });
    return { valid, checksumMatch, errors: capped(errors), verifiedAt };
  }

  const refuse = (id: string, outcome: VerifyOutcome): never => {
    throw new AppError('BACKUP_VERIFICATION_FAILED', `backup ${id} failed verification: ${outcome.errors[0] ?? 'checksum mismatch'}`, { id, ...outcome });
  };

  /** Where a restore writes: a new directory under BACKUP_RESTORE_DIR, or the caller's, which must lie inside it. */
  async function restoreTarget(id: string, given: string | undefined, overwrite: boolean): Promise<string> {
    const root = await realpath(paths.restoreDir).catch(async (err) => {
      if (!gone(err)) throw err;
      await mkdir(paths.restoreDir, { recursive: true, mode: 0o700 });
      return realpath(paths.restoreDir);
    });
    if (given === undefined) {
      const target = path.join(root, `${id}-${clock.now().toISOString().replace(/[:.]/g, '-')}-${randomBytes(2).toString('hex')}`);
      await mkdir(target, { recursive: false, mode: 0o700 });
      return target;
    }
    if (!path.isAbsolute(given)) throw new AppError('BAD_USER_INPUT', 'target must be an absolute path', { field: 'target' });
    const target = path.resolve(given);
    if (!isWithin(root, target) && !isWithin(paths.restoreDir, target)) {
      throw new AppError('BAD_USER_INPUT', `target must be a directory inside ${paths.restoreDir}`, { field: 'target' });
    }
    // The nearest existing ancestor, resolved: a symbolic link on the way must not lead outside the root.
    let existing = target;
    while (!(await lstat(existing).catch(() => null))) existing = path.dirname(existing);
    const real = await realpath(existing);
    if (!isWithin(root, real)) throw new AppError('BAD_USER_INPUT', `target leads outside ${paths.restoreDir}`, { field: 'target' });
    const st = await lstat(target).catch(() => null);
    if (st) {
      if (st.isSymbolicLink()) throw new AppError('BAD_USER_INPUT', 'target is a symbolic link', { field: 'target' });
      if (!st.isDirectory()) throw new AppError('BAD_USER_INPUT', 'target is a file, not a directory', { field: 'target' });
      if (path.resolve(real) === root) throw new AppError('BAD_USER_INPUT', `target must be a directory inside ${paths.restoreDir}, not the directory itself`, { field: 'target' });
      if (!overwrite && (await readdir(target)).length) {
        throw new AppError('CONFLICT', 'target is not empty; send overwrite: true to restore over it', { field: 'target' });
      }
    } else {
      await mkdir(target, { recursive: true, mode: 0o700 });
    }
    return target;
  }

  return {
    run,
    recover,
    applyRetention,

    /** Queues a run and waits up to BACKUP_WAIT_SECONDS: `finished` says whether it is done (201) or still going (202). */
    async createAndWait(input: CreateBackupInput, actor: AuditActor): Promise<{ backup: BackupRecord; finished: boolean }> {
      const row = await create(input, actor);
      try {
        await deps.enqueue(row.id);
      } catch (err) {
        await failRun(row, `could not be queued: ${(err as Error).message}`);
        throw err;
      }
      const now = await waitFor(row.id, deps.waitSeconds * 1_000);
      if (now.status === 'failed') {
        throw new AppError('BACKUP_CREATION_FAILED', `backup ${now.id} failed: ${now.error ?? 'unknown error'}`, { id: now.id, backup: toRecord(now) });
      }
      return { backup: toRecord(now), finished: now.status === 'completed' };
    },

    /** The scheduled run: a record of its own, run here, on the backups worker that received the tick. */
    async scheduled(type: BackupType): Promise<string> {
      const row = await create({ type, metadata: { scheduled: true } }, systemActor('backups.scheduled'), { scheduled: true });
      return run(row.id);
    },

    async get(id: string): Promise<BackupRecord> {
      return toRecord(await find(id));
    },

    async list(filter: { type?: BackupType | null; status?: BackupStatus | null; serviceId?: string | null } | null | undefined, page: PageRequest | null | undefined): Promise<Page<BackupRecord>> {
      const p = resolvePage(page, BACKUP_SORTS, 'created_at');
      const where = {
        ...(filter?.type ? { type: filter.type } : {}),
        ...(filter?.status ? { status: filter.status } : {}),
        ...(filter?.serviceId ? { serviceId: filter.serviceId } : {}),
      };
      const [rows, total] = await Promise.all([
        db.backup.findMany({ where, orderBy: [p.sort === 'size' ? { compressedSize: { sort: p.order, nulls: 'last' } } : { [SORT_COLUMNS[p.sort]]: p.order }, { id: p.order }], skip: p.skip, take: p.take }),
        db.backup.count({ where }),
      ]);
      return { items: rows.map(toRecord), pageInfo: pageInfo(total, p.page, p.limit) };
    },

    /** Over completed backups whose archives are kept. */
    async stats(): Promise<BackupStatsRecord> {
      const [s] = await sql.query<{ total: number; full: number; incremental: number; compressed: string; original: string; oldest: Date | null; newest: Date | null }>(
        `SELECT count(*)::int AS total, count(*) FILTER (WHERE type = 'full')::int AS full, count(*) FILTER (WHERE type = 'incremental')::int AS incremental,
                COALESCE(sum("compressedSize"), 0)::text AS compressed, COALESCE(sum("originalSize"), 0)::text AS original,
                min("createdAt") AS oldest, max("createdAt") AS newest
         FROM "Backup" WHERE status = 'completed' AND "deletedAt" IS NULL`,
      );
      const compressed = Number(s!.compressed);
      const original = Number(s!.original);
      return {
        totalBackups: s!.total,
        fullBackups: s!.full,
        incrementalBackups: s!.incremental,
        totalStorage: compressed,
        compressedStorage: compressed,
        uncompressedStorage: original,
        compressionRatio: compressionRatio(original, compressed),
        oldestBackup: s!.oldest,
        newestBackup: s!.newest,
        averageSize: s!.total ? Math.round(compressed / s!.total) : 0,
      };
    },

    /** The archive's checksum, and with `deep` every entry against the manifest; a failure is ERR_2003. */
    async verify(id: string, deep: boolean): Promise<VerifyOutcome> {
      const row = await find(id);
      if (row.status !== 'completed' || row.deletedAt || !row.location) throw new AppError('CONFLICT', `backup ${id} has no archive to verify (${row.deletedAt ? 'deleted' : row.status})`, { id });
      const outcome = await verifyRow(row, deep);
      if (!outcome.valid) refuse(id, outcome);
      if (row.serviceId) await deps.reports.recordVerified(row.serviceId, row.completedAt!);
      return outcome;
    },

    /**
     * The tree as of the backup, under `target`: each archive of its chain writes the paths it holds
     * the newest content of, deleted paths are left out (and removed from a target restored over).
     */
    async restore(id: string, input: { target?: string; overwrite?: boolean; verify?: boolean }, actor: AuditActor): Promise<RestoreOutcome> {
      const t0 = performance.now();
      const row = await find(id);
      if (row.status !== 'completed') throw new AppError('CONFLICT', `backup ${id} is ${row.status}, not completed`, { id });
      const chain = await chainOf(row);
      if (input.verify !== false) {
        for (const link of chain) {
          const outcome = await verifyRow(link, false);
          if (!outcome.valid) refuse(link.id, outcome);
        }
      }
      const target = await restoreTarget(id, input.target, input.overwrite ?? false);
      const manifest = await db.backupFile.findMany({ where: { backupId: { in: chain.map((c) => c.id) } }, select: { backupId: true, path: true, deleted: true } });
      const { holds, deleted } = chainState(
        chain.map((c) => c.id),
        manifest,
      );
      const errors: string[] = [];
      let restoredFiles = 0;
      let totalSize = 0;
      try {
        for (const link of chain) {
          const known = new Set(manifest.filter((m) => m.backupId === link.id && !m.deleted).map((m) => m.path));
          const wanted = holds.get(link.id)!;
          const outcome = await extractArchive(link.location!, target, known, wanted);
          restoredFiles += outcome.files;
          totalSize += outcome.bytes;
          errors.push(...outcome.errors);
        }
        if (input.overwrite) {
          for (const p of deleted) {
            const abs = path.resolve(target, p);
            if (isWithin(target, abs) && abs !== target) await rm(abs, { recursive: true, force: true });
          }
        }
      } catch (err) {
        throw new AppError('BACKUP_RESTORE_FAILED', `restore of ${id} failed: ${(err as Error).message}`, { id, target });
      }
      const answer = { restoredFiles, totalSize, duration: Math.round(performance.now() - t0), errors: capped(errors), target };
      await db.$transaction((tx) => deps.audit.record(tx, actor, { action: 'backup.restore', resourceType: 'backup', resourceId: id, after: { ...answer, errors: errors.length } }));
      return answer;
    },

    /** 204 semantics: the archive goes; the record too unless `keepMetadata`. Refused while a later incremental needs it. */
    async remove(id: string, keepMetadata: boolean, actor: AuditActor): Promise<void> {
      const removed = await inTransaction(deps.pool, async (tx: Sql) => {
        const [row] = await tx.query<Backup>(`SELECT * FROM "Backup" WHERE id = $1 FOR UPDATE`, [id]);
        if (!row) throw new AppError('NOT_FOUND', `no backup ${id}`, { id });
        if (row.status === 'pending' || row.status === 'running') throw new AppError('CONFLICT', `backup ${id} is ${row.status}; delete it once it has finished`, { id });
        const dependents = await tx.query<{ id: string }>(
          `SELECT id FROM "Backup" WHERE "parentId" = $1 AND "deletedAt" IS NULL AND status IN ('pending', 'running', 'completed') ORDER BY id`,
          [id],
        );
        if (dependents.length) {
          throw new AppError('CONFLICT', `incremental backup(s) ${dependents.map((d) => d.id).join(', ')} depend on ${id}; delete them first`, {
            id,
            dependents: dependents.map((d) => d.id),
          });
        }
        if (keepMetadata) {
          await tx.execute(`UPDATE "Backup" SET "deletedAt" = COALESCE("deletedAt", $2) WHERE id = $1`, [id, clock.now()]);
        } else {
          await tx.execute(`UPDATE "Backup" SET "parentId" = NULL WHERE "parentId" = $1`, [id]);
          await tx.execute(`DELETE FROM "Backup" WHERE id = $1`, [id]);
        }
        await deps.audit.record(tx, actor, { action: 'backup.delete', resourceType: 'backup', resourceId: id, before: toRecord(row), after: { keepMetadata } });
        return row;
      });
      if (removed.location && !removed.deletedAt) await unlink(removed.location).catch((err) => (gone(err) ? undefined : Promise.reject(err)));
    },
  };
}

export type BackupRuns = ReturnType<typeof createBackupRuns>;

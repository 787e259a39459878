import { z } from 'zod';
import { defineEvent, type EventPayload } from '../../infra/events.js';
import type { SameType } from '../../lib/same-type.js';
import type { BackupRecord } from './backups.runs.js';

/** The backups module's events: a server-run backup finished, one way or the other. */

const date = z.coerce.date();

const backupRecord = z.object({
  id: z.string(),
  type: z.enum(['full', 'incremental']),
  status: z.enum(['pending', 'running', 'completed', 'failed']),
  createdAt: date,
  completedAt: date.nullable(),
  stats: z
    .object({ fileCount: z.number(), originalSize: z.number(), compressedSize: z.number(), compressionRatio: z.number(), duration: z.number() })
    .nullable(),
  location: z.string().nullable(),
  checksum: z.string().nullable(),
  metadata: z.unknown(),
  verification: z.object({ lastVerified: date, status: z.string() }).nullable(),
  parentId: z.string().nullable(),
  serviceId: z.string().nullable(),
  compression: z.number(),
  exclude: z.array(z.string()),
  error: z.string().nullable(),
  deletedAt: date.nullable(),
});

/** A run finished with its archive in place (published through the outbox with the record's change). */
export const BACKUP_COMPLETED = defineEvent('backup:completed', z.object({ backup: backupRecord }));
/** A run failed, or was found interrupted by a crash; `backup.error` says why. */
export const BACKUP_FAILED = defineEvent('backup:failed', z.object({ backup: backupRecord }));

export type BackupEvent = EventPayload<typeof BACKUP_COMPLETED>;

const backupMirrors: SameType<z.output<typeof backupRecord>, BackupRecord> = true;
void backupMirrors;

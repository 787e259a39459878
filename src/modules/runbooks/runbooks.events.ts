import { z } from 'zod';
import { defineEvent, type EventPayload } from '../../infra/events.js';
import { AUDIT_ACTOR_TYPES } from '../../auth/actor.js';
import { RUNBOOK_COMMANDS } from './runbooks.definitions.js';

/** How a run ended; `queued` and `running` are never announced. */
export const RUN_STATUSES = ['queued', 'running', 'success', 'failed', 'timeout', 'error', 'dry_run'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

const date = z.coerce.date();

/** A runbook run that ended (dry runs included), written to the outbox with the run's last change. */
export const RUNBOOK_EXECUTED = defineEvent(
  'runbook:executed',
  z.object({
    runId: z.string(),
    requestId: z.string(),
    command: z.enum(RUNBOOK_COMMANDS),
    status: z.enum(RUN_STATUSES),
    exitCode: z.number().int().nullable(),
    dryRun: z.boolean(),
    detail: z.string().nullable(),
    startedAt: date.nullable(),
    finishedAt: date,
    durationMs: z.number().int().nullable(),
    actor: z.object({ type: z.enum(AUDIT_ACTOR_TYPES), id: z.string().nullable() }),
  }),
);
export type RunbookExecutedEvent = EventPayload<typeof RUNBOOK_EXECUTED>;

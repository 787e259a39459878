import { z } from 'zod';
import type { AuditActor } from '../../auth/actor.js';
import type { Config } from '../../config.js';
import type { AuditRecorder } from '../../infra/audit-recorder.js';
import type { Logger } from '../../infra/logger.js';
import type { Database } from '../../infra/prisma.js';
import { sqlOf } from '../../infra/sql.js';
import { AppError } from '../../lib/errors.js';
import { HEALTH_SYSTEMS, type HealthSystem, type HealthThresholds } from '../../lib/health.js';

/** The health checks' settings as in force: the environment's defaults with what admins changed on top. */
export interface HealthConfig {
  /** Seconds between scheduled runs. */
  interval: number;
  /** Seconds each check may take unless `timeouts` names its own. */
  timeout: number;
  /** Seconds each system's check may take (every system listed). */
  timeouts: Record<HealthSystem, number>;
  thresholds: HealthThresholds;
  enabledSystems: HealthSystem[];
}

const system = z.enum(HEALTH_SYSTEMS);
const seconds = z.number().int().min(1).max(60);
const percent = z.number().min(1).max(100);

/** What an admin may change (PATCH /api/v1/health/config, updateHealthConfig): every field optional, nothing else. */
export const healthConfigPatch = z.strictObject({
  interval: z.number().int().min(10).max(86_400).optional(),
  timeout: seconds.optional(),
  timeouts: z.strictObject(Object.fromEntries(HEALTH_SYSTEMS.map((s) => [s, seconds.optional()])) as Record<HealthSystem, z.ZodOptional<typeof seconds>>).optional(),
  thresholds: z.strictObject({ cpu: percent.optional(), memory: percent.optional(), disk: percent.optional() }).optional(),
  enabledSystems: z
    .array(system)
    .min(1)
    .refine((list) => new Set(list).size === list.length, 'lists a system twice')
    .optional(),
});
export type HealthConfigPatch = z.output<typeof healthConfigPatch>;

/** What is stored: only the fields admins set, so the environment still gives the rest. */
const stored = healthConfigPatch;
type Overrides = z.output<typeof stored>;

const SETTING_KEY = 'health.config';

function effective(config: Config, o: Overrides): HealthConfig {
  const timeout = o.timeout ?? config.HEALTH_CHECK_TIMEOUT_SECONDS;
  return {
    interval: o.interval ?? config.HEALTH_INTERVAL_SECONDS,
    timeout,
    timeouts: Object.fromEntries(HEALTH_SYSTEMS.map((s) => [s, o.timeouts?.[s] ?? timeout])) as Record<HealthSystem, number>,
    thresholds: {
      cpu: o.thresholds?.cpu ?? config.HEALTH_CPU_THRESHOLD,
      memory: o.thresholds?.memory ?? config.HEALTH_MEMORY_THRESHOLD,
      disk: o.thresholds?.disk ?? config.HEALTH_DISK_THRESHOLD,
    },
    enabledSystems: o.enabledSystems ?? [...HEALTH_SYSTEMS],
  };
}

/** A patch applied to the stored overrides: nested objects merge, lists replace. */
function merge(o: Overrides, patch: HealthConfigPatch): Overrides {
  const out: Overrides = { ...o };
  if (patch.interval !== undefined) out.interval = patch.interval;
  if (patch.timeout !== undefined) out.timeout = patch.timeout;
  if (patch.timeouts) out.timeouts = { ...o.timeouts, ...defined(patch.timeouts) };
  if (patch.thresholds) out.thresholds = { ...o.thresholds, ...defined(patch.thresholds) };
  if (patch.enabledSystems) out.enabledSystems = [...patch.enabledSystems];
  return out;
}

const defined = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/**
 * The settings live in the database (one `Setting` row), read at every run, so a change is in
 * force on every instance and worker without a restart.
 */
export function createHealthSettings(deps: {
  db: Database;
  config: Config;
  audit: AuditRecorder;
  logger: Logger;
  /** Called after a change of `interval` committed (the scheduler moves); a failure is logged, and the next scheduled run catches up. */
  onIntervalChange?: (seconds: number) => Promise<unknown>;
}) {
  async function overrides(tx: Pick<Database, 'setting'> = deps.db): Promise<Overrides> {
    const row = await tx.setting.findUnique({ where: { key: SETTING_KEY } });
    if (!row) return {};
    const parsed = stored.safeParse(JSONparse(row.value));
    if (parsed.success) return parsed.data;
    // Written only through `update`, so this is a hand edit: the defaults serve rather than nothing.
    deps.logger.error({ key: SETTING_KEY, err: parsed.error.message }, 'stored health config does not parse; using the defaults');
    return {};
  }

  return {
    async get(): Promise<HealthConfig> {
      return effective(deps.config, await overrides());
    },

    /** Applies a validated patch in one transaction, audited; answers the settings before and after. */
    async update(patch: HealthConfigPatch, actor: AuditActor): Promise<{ before: HealthConfig; after: HealthConfig }> {
      if (!Object.values(patch).some((v) => v !== undefined)) throw new AppError('BAD_USER_INPUT', 'nothing to change: give interval, timeout, timeouts, thresholds or enabledSystems', { field: 'body' });
      const changed = await deps.db.$transaction(async (tx) => {
        // Two admins at once: each patch applies to what the other committed, none is lost.
        await sqlOf(tx).query('SELECT 1 AS locked FROM pg_advisory_xact_lock(hashtext($1))', [`opsgraph:${SETTING_KEY}`]);
        const current = await overrides(tx);
        const next = merge(current, patch);
        const before = effective(deps.config, current);
        const after = effective(deps.config, next);
        const value = JSON.stringify(next);
        await tx.setting.upsert({ where: { key: SETTING_KEY }, create: { key: SETTING_KEY, value }, update: { value } });
        await deps.audit.record(tx, actor, { action: 'health.config.update', resourceType: 'health_config', resourceId: SETTING_KEY, before, after });
        return { before, after };
      });
      if (changed.before.interval !== changed.after.interval && deps.onIntervalChange) {
        await deps.onIntervalChange(changed.after.interval).catch((err) =>
          deps.logger.warn({ err: (err as Error).message, interval: changed.after.interval }, 'could not move the health check schedule now; the next run will'),
        );
      }
      return changed;
    },
  };
}

function JSONparse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export type HealthSettings = ReturnType<typeof createHealthSettings>;

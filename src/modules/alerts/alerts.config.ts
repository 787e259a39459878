import { z } from 'zod';
import type { Sql } from '../../infra/sql.js';

/**
 * The alerting configuration, kept in the database (one Setting row) so every API and worker
 * process sees a change at once: the evaluation interval (read by the evaluation tick every
 * second, so a change is in force within a second, no restart), deduplication and aggregation
 * windows, which channel types are on, and the channels of alerts that no rule names (SLA, backup,
 * node, health and manual alerts).
 */

const window = z.number().int().min(0).max(86_400);
export const alertingConfigSchema = z.strictObject({
  /** Seconds between evaluation cycles. */
  evaluationInterval: z.number().int().min(1).max(3_600),
  deduplication: z.strictObject({ enabled: z.boolean(), window }),
  aggregation: z.strictObject({ enabled: z.boolean(), window }),
  channels: z.strictObject({
    console: z.strictObject({ enabled: z.boolean() }),
    file: z.strictObject({ enabled: z.boolean() }),
    webhook: z.strictObject({ enabled: z.boolean() }),
  }),
  /** Channel names for alerts without a rule. */
  defaultChannels: z.array(z.string().min(1).max(100)).max(50),
});
export type AlertingConfig = z.output<typeof alertingConfigSchema>;

export const DEFAULT_ALERTING_CONFIG: AlertingConfig = {
  evaluationInterval: 30,
  deduplication: { enabled: true, window: 300 },
  aggregation: { enabled: true, window: 60 },
  channels: { console: { enabled: true }, file: { enabled: true }, webhook: { enabled: true } },
  defaultChannels: ['console', 'file'],
};

/** A change: any part, nested parts partly. */
export const alertingConfigPatch = z.strictObject({
  evaluationInterval: alertingConfigSchema.shape.evaluationInterval.optional(),
  deduplication: alertingConfigSchema.shape.deduplication.partial().optional(),
  aggregation: alertingConfigSchema.shape.aggregation.partial().optional(),
  channels: z
    .strictObject({
      console: z.strictObject({ enabled: z.boolean() }).optional(),
      file: z.strictObject({ enabled: z.boolean() }).optional(),
      webhook: z.strictObject({ enabled: z.boolean() }).optional(),
    })
    .optional(),
  defaultChannels: alertingConfigSchema.shape.defaultChannels.optional(),
});
export type AlertingConfigPatch = z.output<typeof alertingConfigPatch>;

export const CONFIG_KEY = 'alerting.config';

export function applyPatch(c: AlertingConfig, p: AlertingConfigPatch): AlertingConfig {
  return {
    evaluationInterval: p.evaluationInterval ?? c.evaluationInterval,
    deduplication: { ...c.deduplication, ...p.deduplication },
    aggregation: { ...c.aggregation, ...p.aggregation },
    channels: {
      console: p.channels?.console ?? c.channels.console,
      file: p.channels?.file ?? c.channels.file,
      webhook: p.channels?.webhook ?? c.channels.webhook,
    },
    defaultChannels: p.defaultChannels ?? c.defaultChannels,
  };
}

/** The stored configuration over the defaults (a version that added a field reads older rows whole). */
export async function readAlertingConfig(db: Sql, forUpdate = false): Promise<AlertingConfig> {
  const [row] = await db.query<{ value: string }>(`SELECT value FROM "Setting" WHERE key = $1${forUpdate ? ' FOR UPDATE' : ''}`, [CONFIG_KEY]);
  if (!row) return DEFAULT_ALERTING_CONFIG;
  const parsed = alertingConfigPatch.safeParse(JSON.parse(row.value));
  return parsed.success ? applyPatch(DEFAULT_ALERTING_CONFIG, parsed.data) : DEFAULT_ALERTING_CONFIG;
}

export async function writeAlertingConfig(db: Sql, c: AlertingConfig): Promise<void> {
  await db.execute(
    `INSERT INTO "Setting" (key, value, "updatedAt") VALUES ($1, $2, now()) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, "updatedAt" = now()`,
    [CONFIG_KEY, JSON.stringify(c)],
  );
}

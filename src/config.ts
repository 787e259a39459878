import path from 'node:path';
import { z } from 'zod';
import { parseDependencies } from './lib/health.js';
import { parseConsoleMetrics } from './lib/ops-console.js';
import { LicenseKeyConfigError, parsePublicKeys } from './lib/license-keys.js';

/**
 * The one configuration object. Every default lives here and nowhere else;
 * `.env.example` documents each variable.
 */
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');


/** Bytes of a size such as `512kb` or `4mb` (the forms BODY_LIMIT and METRICS_BODY_LIMIT take). */
export function bodyBytes(size: string): number {
  const m = /^(\d+)(b|kb|mb)$/i.exec(size);
  if (!m) return NaN;
  return Number(m[1]) * { b: 1, kb: 1_024, mb: 1_048_576 }[m[2]!.toLowerCase() as 'b' | 'kb' | 'mb'];
}

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL')
    .default('postgresql://postgres@127.0.0.1:5432/opsgraph'),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .default('redis://127.0.0.1:6379'),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only')
    .default('opsgraph'),
  /**
   * How long a request waits for one Redis command before going on without it (or answering 503):
   * a Redis that stops answering without closing its sockets must not stall the API.
   */
  REDIS_COMMAND_TIMEOUT_MS: z.coerce.number().int().min(50).max(30_000).default(300),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/i, 'a size such as 512kb or 1mb')
    .default('1mb'),
  /** The larger body limit of routes that take big batches (metric pushes of up to 10,000 samples). */
  METRICS_BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/i, 'a size such as 512kb or 4mb')
    .refine((v) => bodyBytes(v) >= 1_024 && bodyBytes(v) <= 16 * 1_048_576, 'from 1kb to 16mb')
    .default('4mb'),
  DEPENDENCY_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(2_000),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(60_000).default(8_000),
  BULL_BOARD_ENABLED: bool.default(false),
  /** Express `trust proxy`: false, true, a hop count, or a list of trusted addresses/subnets. */
  TRUST_PROXY: z
    .string()
    .default('false')
    .transform((v): boolean | number | string => (v === 'true' ? true : v === 'false' ? false : /^\d+$/.test(v) ? Number(v) : v)),

  JWT_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  JWT_ISSUER: z.string().min(1).default('opsgraph'),
  JWT_AUDIENCE: z.string().min(1).default('opsgraph-api'),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(86_400).default(900),
  REFRESH_TOKEN_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  /** How long a Bull Board sign-in (`/admin/login`, the admin session cookie) lasts. */
  ADMIN_SESSION_TTL_SECONDS: z.coerce.number().int().min(60).max(43_200).default(900),
  ADMIN_EMAIL: z.string().email().default('admin@opsgraph.local'),
  ADMIN_PASSWORD: z.string().min(12, 'at least 12 characters').optional(),
  LOGIN_MAX_FAILURES: z.coerce.number().int().min(1).max(100).default(5),
  LOGIN_LOCKOUT_MINUTES: z.coerce.number().int().min(1).max(1_440).default(15),
  SECURITY_EVENT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3_650).default(90),
  /** Audit entries older than this are pruned daily (oldest first, keeping the chain verifiable); 0 keeps them forever. */
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(365),

  RATE_LIMIT_STANDARD: z.coerce.number().int().min(1).max(1_000_000_000).default(100),
  RATE_LIMIT_METRICS_QUERY: z.coerce.number().int().min(1).max(1_000_000_000).default(30),
  RATE_LIMIT_BACKUP_OPS: z.coerce.number().int().min(1).max(1_000_000_000).default(5),
  RATE_LIMIT_AGENT: z.coerce.number().int().min(1).max(1_000_000_000).default(600),
  RATE_LIMIT_GRAPHQL: z.coerce.number().int().min(1).max(1_000_000_000).default(1000),
  RATE_LIMIT_ANONYMOUS: z.coerce.number().int().min(1).max(1_000_000_000).default(20),

  /** Defaults to on, except when NODE_ENV=production. */
  GRAPHQL_INTROSPECTION: bool.optional(),
  GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(2).max(100).default(15), // the standard introspection query is 15 deep
  GRAPHQL_MAX_COST: z.coerce.number().int().min(10).max(1_000_000).default(5_000),
  GRAPHQL_MAX_ALIASES: z.coerce.number().int().min(0).max(1_000).default(30),
  GRAPHQL_MAX_DIRECTIVES: z.coerce.number().int().min(0).max(1_000).default(50),
  GRAPHQL_MAX_TOKENS: z.coerce.number().int().min(100).max(100_000).default(3_000),
  WS_MAX_SUBSCRIPTIONS: z.coerce.number().int().min(1).max(1_000).default(20),
  /** `/ws` pushes waiting for one slow socket at most; past it the oldest are dropped. */
  WS_SEND_QUEUE_MAX: z.coerce.number().int().min(10).max(100_000).default(1_000),
  /** Bytes a `/ws` socket may hold unsent before pushes wait in its queue instead. */
  WS_SEND_BUFFER_BYTES: z.coerce.number().int().min(16_384).max(67_108_864).default(1_048_576),
  /** When set, `GET /metrics` requires `Authorization: Bearer <METRICS_TOKEN>`; unset, it is open. */
  METRICS_TOKEN: z
    .string()
    .min(16, 'at least 16 characters')
    .max(512)
    .regex(/^[\x21-\x7e]+$/, 'printable characters without spaces')
    .refine((t) => !t.startsWith('opk_'), 'must not look like an API key (opk_...)')
    .optional(),

  /** A reported status holds this long without a new report; then the service is UNKNOWN. */
  STALE_AFTER_SECONDS: z.coerce.number().int().min(10).max(86_400).default(90),
  MAX_SERVICES_PER_REPORT: z.coerce.number().int().min(1).max(100_000).default(2_000),
  /** How old a replayed report may be; reports are also kept this long to merge late ones exactly. */
  REPORT_REPLAY_HOURS: z.coerce.number().int().min(1).max(168).default(24),
  /** How often the worker marks silent services UNKNOWN and re-evaluates backup freshness. */
  FLEET_SWEEP_SECONDS: z.coerce.number().int().min(1).max(3_600).default(10),

  /** Ed25519 public key(s) that verify license keys: SPKI PEM text or PEM file path(s); see licenses.keys.ts. */
  LICENSE_PUBLIC_KEY: z.string().optional(),
  /** How long an instance trusts its copy of the active license (activation elsewhere also drops it at once). */
  LICENSE_CACHE_SECONDS: z.coerce.number().min(0).max(300).default(5),
  /** How early license:updated warns that the license is about to expire. */
  LICENSE_EXPIRY_WARNING_DAYS: z.coerce.number().int().min(1).max(365).default(14),
  /** How often a worker checks the license for its warning and its expiry. */
  LICENSE_CHECK_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  /** Where Opsgraph keeps its files (created at start): the default source of backups and the parent of their directories; the system collector and the `disk` health check measure its filesystem. */
  DATA_DIR: z.string().min(1).default('./data'),
  /** Days each metrics tier is kept; retention drops whole partitions. */
  METRICS_RETENTION_RAW_DAYS: z.coerce.number().int().min(1).max(90).default(7),
  METRICS_RETENTION_1M_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  METRICS_RETENTION_5M_DAYS: z.coerce.number().int().min(1).max(1_095).default(90),
  METRICS_RETENTION_1H_DAYS: z.coerce.number().int().min(1).max(3_650).default(730),
  /** Label sets one pushed metric may have; the built-in collectors' series are not counted. */
  METRICS_MAX_SERIES_PER_METRIC: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  /** Days recorded metric events are kept. */
  METRICS_EVENT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3_650).default(30),
  /** Open a ticket when an incident opens in a `critical` SLA group, close it when the incident closes (plugin ticketing). */
  AUTO_INCIDENT_TICKETS: bool.default(true),

  /** The runbooks (YAML, see docs/api.md); unset: only the built-in health_check can be executed. */
  RUNBOOKS_FILE: z.string().min(1).optional(),
  /** After a step's timeout its process group gets SIGTERM, then SIGKILL this much later. */
  RUNBOOKS_KILL_GRACE_SECONDS: z.coerce.number().int().min(1).max(60).default(5),
  /** Log lines kept per run (stdout, stderr and the runner's own); the rest is counted in a truncation note. */
  RUNBOOKS_LOG_MAX_LINES: z.coerce.number().int().min(10).max(100_000).default(1_000),
  /** How long a run may wait for a worker to take it; after that it is given up, and never runs later. */
  RUNBOOKS_PICKUP_SECONDS: z.coerce.number().int().min(1).max(600).default(15),
  /** Summary entries read from the metrics store: JSON `{ "<key>": { "metric", "unit", "labels", "combine" } }`. */
  OPS_CONSOLE_METRICS: z
    .string()
    .default('')
    .transform((v, ctx) => {
      try {
        return parseConsoleMetrics(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  /** A stored console entry whose newest sample is older than this is stale. */
  OPS_METRIC_STALE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(120),
  /** How often a worker stores the console's own figures in the metrics store (collector `ops`). */
  OPS_CONSOLE_SAMPLE_SECONDS: z.coerce.number().int().min(1).max(3_600).default(10),
  /** How often a worker runs the enabled health checks, until an admin sets `interval` (PATCH /api/v1/health/config). */
  HEALTH_INTERVAL_SECONDS: z.coerce.number().int().min(10).max(86_400).default(60),
  /** Each health check's own timeout, until an admin sets `timeout`; a run's `timeout` lowers it further. */
  HEALTH_CHECK_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(60).default(5),
  /** Starting thresholds (percent) of the system and disk checks, until an admin sets them. */
  HEALTH_CPU_THRESHOLD: z.coerce.number().min(1).max(100).default(80),
  HEALTH_MEMORY_THRESHOLD: z.coerce.number().min(1).max(100).default(85),
  HEALTH_DISK_THRESHOLD: z.coerce.number().min(1).max(100).default(90),
  /** Stored health check results older than this are pruned daily. */
  HEALTH_HISTORY_DAYS: z.coerce.number().int().min(1).max(3_650).default(30),
  /** What the `network` check reaches: `name=http(s)://...` or `name=tcp://host:port`, comma-separated. */
  HEALTH_DEPENDENCIES: z
    .string()
    .default('')
    .transform((v, ctx) => {
      try {
        return parseDependencies(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  /** Base URL the `api` and `websocket` checks call; unset: the process's own listener (worker-only processes then skip them). */
  HEALTH_API_URL: z
    .string()
    .regex(/^https?:\/\/[^/\s]+(\/\S*)?$/, 'an http(s):// base URL')
    .transform((v) => v.replace(/\/$/, ''))
    .optional(),
  /** The PostgreSQL the `data` check connects to, on a connection of its own; unset: DATABASE_URL. */
  HEALTH_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL')
    .optional(),
  /** Directories a backup archives, comma-separated (default: DATA_DIR). Only configuration names them, never a request. */
  BACKUP_SOURCES: z.string().min(1).optional(),
  /** Where archives are written (default: DATA_DIR/backups). */
  BACKUP_DIR: z.string().min(1).optional(),
  /** Restores go to a new directory here by default, and a caller's target must lie inside it (default: DATA_DIR/restores). */
  BACKUP_RESTORE_DIR: z.string().min(1).optional(),
  /** How long POST /api/v1/backups waits for the run before answering 202 with the running record. */
  BACKUP_WAIT_SECONDS: z.coerce.number().int().min(0).max(3_600).default(60),
  /** A cron pattern (5 or 6 fields) for scheduled backups; unset: none. */
  BACKUP_SCHEDULE: z
    .string()
    .trim()
    .regex(/^\S+(\s+\S+){4,5}$/, 'a cron pattern of 5 or 6 fields, such as "0 3 * * *"')
    .optional(),
  BACKUP_SCHEDULE_TYPE: z.enum(['full', 'incremental']).default('full'),
  /** Completed full backups (with their incrementals) kept after each run; unset: all. */
  BACKUP_RETENTION_COUNT: z.coerce.number().int().min(1).max(10_000).optional(),

  /** Where the `file` notification channel appends its JSON lines. */
  ALERT_FILE_PATH: z.string().min(1).default('data/alerts.log'),
  /** An alert that fired before its rule was silenced still sends its `resolved`. */
  ALERT_RESOLVE_THROUGH_SILENCE: bool.default(true),
  /** A series whose newest sample is older than this has no data for the alert rules. */
  ALERT_SAMPLE_STALE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  /** Refuse webhook targets on loopback and private addresses (checked at creation and at each delivery). */
  WEBHOOK_DENY_PRIVATE: bool.default(false),
  /** Delivery attempts of one notification before it is marked failed. */
  NOTIFY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  /** The first retry's delay; each next one doubles. */
  NOTIFY_BACKOFF_MS: z.coerce.number().int().min(10).max(600_000).default(1_000),
  /** How long one webhook delivery may take. */
  NOTIFY_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
}).superRefine((c, ctx) => {
  const sources = (c.BACKUP_SOURCES ?? c.DATA_DIR).split(',').map((s) => s.trim());
  const names = sources.map((s) => path.basename(path.resolve(s)));
  // Entries are named after their source's directory name: two sources of one name would collide.
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (sources.some((s) => !s)) ctx.addIssue({ code: 'custom', path: ['BACKUP_SOURCES'], message: 'an empty directory name' });
  else if (twice) ctx.addIssue({ code: 'custom', path: ['BACKUP_SOURCES'], message: `two sources named "${twice}": entries are named after each source's directory` });
  if (c.NODE_ENV === 'production' && !c.JWT_SECRET) {
    ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'required when NODE_ENV=production' });
  }
  try {
    parsePublicKeys(c.LICENSE_PUBLIC_KEY);
  } catch (err) {
    if (!(err instanceof LicenseKeyConfigError)) throw err;
    ctx.addIssue({ code: 'custom', path: ['LICENSE_PUBLIC_KEY'], message: err.message.replace(/^LICENSE_PUBLIC_KEY: /, '') });
  }
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {}

/** Parses the environment once; names every bad variable in one message. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const input = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  return parsed.data;
}

/** The backup directories as absolute paths, each default following DATA_DIR. */
export function backupPaths(c: Pick<Config, 'DATA_DIR' | 'BACKUP_SOURCES' | 'BACKUP_DIR' | 'BACKUP_RESTORE_DIR'>) {
  const dataDir = path.resolve(c.DATA_DIR);
  return {
    sources: (c.BACKUP_SOURCES ?? dataDir).split(',').map((s) => path.resolve(s.trim())),
    backupDir: path.resolve(c.BACKUP_DIR ?? path.join(dataDir, 'backups')),
    restoreDir: path.resolve(c.BACKUP_RESTORE_DIR ?? path.join(dataDir, 'restores')),
  };
}
export type BackupPaths = ReturnType<typeof backupPaths>;

/** A URL safe to print: the password, if any, replaced by ****. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '****';
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}

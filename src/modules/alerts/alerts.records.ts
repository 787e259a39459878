import type { AlertSource, AlertState } from './alerts.events.js';

/** An alert as every reader gets it (REST, GraphQL, events, notifications): the one mapping of a row. */
export interface AlertRecord {
  id: string;
  fingerprint: string;
  source: AlertSource;
  ruleId: string | null;
  ruleName: string | null;
  status: AlertState;
  severity: string;
  title: string;
  message: string;
  labels: Record<string, string>;
  value: number | null;
  threshold: number | null;
  metadata: Record<string, unknown>;
  activeAt: Date;
  firedAt: Date | null;
  resolvedAt: Date | null;
  acknowledgedAt: Date | null;
  acknowledgedBy: string | null;
  acknowledgeNote: string | null;
  resolvedBy: string | null;
  resolutionNotes: string | null;
  suppressedBy: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** The columns of "Alert" raw SQL selects (qualify with the table alias), and the rule's name beside them. */
export const ALERT_COLUMNS = [
  'id',
  'fingerprint',
  'source',
  '"ruleId"',
  'state',
  'severity',
  'title',
  'message',
  'labels',
  'value',
  'threshold',
  'metadata',
  '"activeAt"',
  '"firedAt"',
  '"resolvedAt"',
  '"acknowledgedAt"',
  '"acknowledgedBy"',
  '"acknowledgeNote"',
  '"resolvedBy"',
  '"resolutionNotes"',
  '"suppressedBy"',
  'version',
  '"createdAt"',
  '"updatedAt"',
] as const;

export const alertColumns = (alias: string) => ALERT_COLUMNS.map((c) => `${alias}.${c}`).join(', ');

/** A row as raw SQL or Prisma reads it: the record's fields under their column names, JSON not yet checked. */
export type AlertRow = Omit<AlertRecord, 'status' | 'ruleName' | 'labels' | 'metadata'> & {
  state: AlertState;
  ruleName?: string | null;
  rule?: { name: string } | null;
  labels: unknown;
  metadata: unknown;
};

const plainObject = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

export function toAlertRecord(r: AlertRow): AlertRecord {
  return {
    id: r.id,
    fingerprint: r.fingerprint,
    source: r.source,
    ruleId: r.ruleId,
    ruleName: r.ruleName ?? r.rule?.name ?? null,
    status: r.state,
    severity: r.severity,
    title: r.title,
    message: r.message,
    labels: Object.fromEntries(Object.entries(plainObject(r.labels)).map(([k, v]) => [k, String(v)])),
    value: r.value === null ? null : Number(r.value),
    threshold: r.threshold === null ? null : Number(r.threshold),
    metadata: plainObject(r.metadata),
    activeAt: r.activeAt,
    firedAt: r.firedAt,
    resolvedAt: r.resolvedAt,
    acknowledgedAt: r.acknowledgedAt,
    acknowledgedBy: r.acknowledgedBy,
    acknowledgeNote: r.acknowledgeNote,
    resolvedBy: r.resolvedBy,
    resolutionNotes: r.resolutionNotes,
    suppressedBy: r.suppressedBy,
    version: r.version,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

export interface RuleRecord {
  id: string;
  name: string;
  enabled: boolean;
  metric: string;
  labels: Record<string, string>;
  condition: { operator: string; threshold: number; duration: number };
  recoveryThreshold: number | null;
  keepFiringFor: number;
  severity: string;
  /** Channel names, as rules are written. */
  channels: string[];
  metadata: Record<string, unknown>;
  noData: boolean;
  silencedUntil: Date | null;
  silenceReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface ChannelRecord {
  id: string;
  name: string;
  type: 'console' | 'file' | 'webhook';
  enabled: boolean;
  /** webhook: url, method, headers; never the secret. */
  config: Record<string, unknown>;
  hasSecret: boolean;
  createdAt: Date;
  updatedAt: Date;
}

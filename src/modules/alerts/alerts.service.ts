import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { AuditActor } from '../../auth/actor.js';
import type { AuditRecorder } from '../../infra/audit-recorder.js';
import type { Clock } from '../../infra/clock.js';
import type { Outbox } from '../../infra/outbox.js';
import { inTransaction, sqlOf, type Sql } from '../../infra/sql.js';
import { fingerprint, OPERATORS, recoveryProblem, SEVERITIES, type Operator } from '../../lib/alerting.js';
import { AppError } from '../../lib/errors.js';
import { pageInfo, resolvePage, type Page, type PageRequest } from '../../lib/pagination.js';
import { closest } from '../../lib/suggest.js';
import type { SlaAlertEvent } from '../sla/sla.events.js';
import { applyPatch, readAlertingConfig, writeAlertingConfig, type AlertingConfig, type AlertingConfigPatch } from './alerts.config.js';
import type { AlertSource, AlertState } from './alerts.events.js';
import type { ChannelRow, DeliveryOutcome, Notifier } from './alerts.notifier.js';
import { webhookTargetProblem } from './alerts.notifier.js';
import { alertColumns, toAlertRecord, type AlertRecord, type AlertRow, type ChannelRecord, type RuleRecord } from './alerts.records.js';
import { announce, writeAlerts, type AlertUpdate } from './alerts.store.js';

export interface RuleInput {
  name: string;
  metric: string;
  labels?: Record<string, string> | null;
  condition: { operator: string; threshold: number; duration?: number | null };
  recoveryThreshold?: number | null;
  keepFiringFor?: number | null;
  severity: string;
  channels: string[];
  metadata?: Record<string, unknown> | null;
  enabled?: boolean | null;
}

export interface RulePatch {
  name?: string;
  metric?: string;
  labels?: Record<string, string>;
  condition?: { operator?: string; threshold?: number; duration?: number };
  recoveryThreshold?: number | null;
  keepFiringFor?: number;
  severity?: string;
  channels?: string[];
  metadata?: Record<string, unknown>;
  enabled?: boolean;
}

export interface AlertFilter {
  /** One state, or `open` (pending or firing). */
  status?: AlertState | 'OPEN' | null;
  severity?: string | null;
  ruleId?: string | null;
  /** A rule id or name. */
  rule?: string | null;
  source?: AlertSource | null;
  since?: Date | null;
  /** Only alerts that fired (the history of seed 000). */
  fired?: boolean | null;
}

export interface NotificationEntry {
  notificationId: string | null;
  channel: string;
  channelId: string;
  kind: string;
  /** A delivery attempt's outcome (delivered, failed), or why the notice was held (silenced, suppressed, deduplicated), or queued/sending. */
  status: string;
  attempt: number | null;
  responseCode: number | null;
  error: string | null;
  durationMs: number | null;
  at: Date;
}

/** seed 004's `warning` and `info`. */
export function severityOf(s: string, field = 'severity'): string {
  const v = s === 'warning' ? 'medium' : s === 'info' ? 'low' : s;
  if (!(SEVERITIES as readonly string[]).includes(v)) throw new AppError('BAD_USER_INPUT', `${field}: one of ${SEVERITIES.join(', ')}`, { field });
  return v;
}

const RULE_SORTS = ['name', 'createdAt', 'updatedAt', 'severity'] as const;
const ALERT_SORTS = ['createdAt', 'firedAt', 'resolvedAt', 'severity'] as const;

interface RuleRow {
  id: string;
  name: string;
  enabled: boolean;
  metric: string;
  labels: Record<string, string>;
  operator: string;
  threshold: number;
  duration: number;
  recoveryThreshold: number | null;
  keepFiringFor: number;
  severity: string;
  channels: string[];
  metadata: Record<string, unknown>;
  noData: boolean;
  silencedAt: Date | null;
  silencedUntil: Date | null;
  silenceReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export function createAlertsService(deps: { pool: pg.Pool; clock: Clock; outbox: Pick<Outbox, 'add' | 'nudge'>; audit: AuditRecorder; notifier: Notifier; denyPrivate: boolean; filePath: string }) {
  const sql = sqlOf(deps.pool);

  async function channelNames(db: Sql): Promise<Map<string, string>> {
    return new Map((await db.query<{ id: string; name: string }>(`SELECT id, name FROM "NotificationChannel"`)).map((c) => [c.id, c.name]));
  }

  const toRule = (r: RuleRow, names: Map<string, string>): RuleRecord => ({
    id: r.id,
    name: r.name,
    enabled: r.enabled,
    metric: r.metric,
    labels: r.labels,
    condition: { operator: r.operator, threshold: r.threshold, duration: r.duration },
    recoveryThreshold: r.recoveryThreshold,
    keepFiringFor: r.keepFiringFor,
    severity: r.severity,
    channels: r.channels.map((id) => names.get(id) ?? id),
    metadata: r.metadata,
    noData: r.noData,
    silencedUntil: r.silencedUntil && r.silencedUntil > deps.clock.now() ? r.silencedUntil : null,
    silenceReason: r.silencedUntil && r.silencedUntil > deps.clock.now() ? r.silenceReason : null,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  });

  const toChannel = (c: ChannelRow & { createdAt: Date; updatedAt: Date }): ChannelRecord => ({
    id: c.id,
    name: c.name,
    type: c.type,
    enabled: c.enabled,
    config: c.type === 'file' ? { path: deps.filePath } : { url: c.config.url, method: c.config.method ?? 'POST', headers: c.config.headers ?? {} },
    hasSecret: !!c.secret,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
  });

  /** Channel names or ids to ids; an unknown one is a 400 naming `channels`. */
  async function channelIds(db: Sql, refs: readonly string[]): Promise<string[]> {
    const all = await db.query<{ id: string; name: string }>(`SELECT id, name FROM "NotificationChannel"`);
    return refs.map((ref, i) => {
      const c = all.find((x) => x.id === ref || x.name === ref);
      if (!c) {
        const hint = closest(ref, all.map((x) => x.name));
        throw new AppError('BAD_USER_INPUT', `channels[${i}]: no channel "${ref}"${hint ? `; did you mean ${hint}?` : ''}`, { field: 'channels', channel: ref });
      }
      return c.id;
    });
  }

  function checkRule(r: { operator: string; threshold: number; duration: number; recoveryThreshold: number | null; keepFiringFor: number; severity: string }) {
    if (!(OPERATORS as readonly string[]).includes(r.operator)) throw new AppError('BAD_USER_INPUT', `condition.operator: one of ${OPERATORS.join(' ')}`, { field: 'condition.operator' });
    if (!Number.isInteger(r.duration) || r.duration < 0) throw new AppError('BAD_USER_INPUT', 'condition.duration: whole seconds, 0 or more', { field: 'condition.duration' });
    if (!Number.isInteger(r.keepFiringFor) || r.keepFiringFor < 0) throw new AppError('BAD_USER_INPUT', 'keepFiringFor: whole seconds, 0 or more', { field: 'keepFiringFor' });
    if (!Number.isFinite(r.threshold)) throw new AppError('BAD_USER_INPUT', 'condition.threshold: a finite number', { field: 'condition.threshold' });
    const problem = recoveryProblem(r.operator as Operator, r.threshold, r.recoveryThreshold);
    if (problem) throw new AppError('ALERT_RULE_FAILED', problem, { field: 'recoveryThreshold' });
    severityOf(r.severity);
  }

  async function ruleRow(db: Sql, id: string, lock = false): Promise<RuleRow> {
    const [r] = await db.query<RuleRow>(`SELECT * FROM "AlertRule" WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
    if (!r) throw new AppError('NOT_FOUND', `no alert rule with id ${id}`, { field: 'id' });
    return r;
  }

  async function alertRow(db: Sql, id: string, lock = false): Promise<AlertRow> {
    const [a] = await db.query<AlertRow>(`SELECT ${alertColumns('a')}, r.name AS "ruleName" FROM "Alert" a LEFT JOIN "AlertRule" r ON r.id = a."ruleId" WHERE a.id = $1${lock ? ' FOR UPDATE OF a' : ''}`, [id]);
    if (!a) throw new AppError('NOT_FOUND', `no alert with id ${id}`, { field: 'id' });
    return a;
  }

  /** One operator change to one alert, its event and its audit entry, in one transaction. */
  async function changeAlert(id: string, actor: AuditActor, action: string, build: (a: AlertRow) => AlertUpdate): Promise<AlertRecord> {
    const now = deps.clock.now();
    const result = await inTransaction(deps.pool, async (db) => {
      const before = await alertRow(db, id, true);
      const [w] = await writeAlerts(db, now, [], [build(before)]);
      if (!w) throw new AppError('CONFLICT', `alert ${id} changed meanwhile; try again`, { field: 'id' });
      await announce(db, deps.outbox, [w], now, true);
      await deps.audit.record(db, actor, { action, resourceType: 'alert', resourceId: id, before: toAlertRecord(before), after: w.alert });
      return w.alert;
    });
    deps.outbox.nudge();
    return result;
  }

  const who = (actor: AuditActor) => actor.id ?? actor.type.toLowerCase();

  return {
    // ---------- rules ----------
    async listRules(filter: { status?: 'enabled' | 'disabled' | 'all' | null; severity?: string | null } | null | undefined, page: PageRequest | null | undefined): Promise<Page<RuleRecord>> {
      const p = resolvePage(page, RULE_SORTS, 'name', 'asc');
      const enabled = filter?.status === 'enabled' ? true : filter?.status === 'disabled' ? false : null;
      const severity = filter?.severity ? severityOf(filter.severity) : null;
      const where = `($1::boolean IS NULL OR enabled = $1) AND ($2::text IS NULL OR severity = $2)`;
      const [rows, [count], names] = await Promise.all([
        sql.query<RuleRow>(`SELECT * FROM "AlertRule" WHERE ${where} ORDER BY "${p.sort}" ${p.order === 'asc' ? 'ASC' : 'DESC'}, id LIMIT $3 OFFSET $4`, [enabled, severity, p.take, p.skip]),
        sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM "AlertRule" WHERE ${where}`, [enabled, severity]),
        channelNames(sql),
      ]);
      return { items: rows.map((r) => toRule(r, names)), pageInfo: pageInfo(count!.n, p.page, p.limit) };
    },

    async getRule(id: string): Promise<RuleRecord & { stats: { totalAlerts: number; lastFired: Date | null; openAlerts: number } }> {
      const [r, names, [stats]] = await Promise.all([
        ruleRow(sql, id),
        channelNames(sql),
        sql.query<{ total: number; lastFired: Date | null; open: number }>(
          `SELECT count(*) FILTER (WHERE "firedAt" IS NOT NULL)::int AS total, max("firedAt") AS "lastFired", count(*) FILTER (WHERE state <> 'RESOLVED')::int AS open FROM "Alert" WHERE "ruleId" = $1`,
          [id],
        ),
      ]);
      return { ...toRule(r, names), stats: { totalAlerts: stats!.total, lastFired: stats!.lastFired, openAlerts: stats!.open } };
    },

    async createRule(input: RuleInput, actor: AuditActor): Promise<RuleRecord> {
      const rule = {
        operator: input.condition.operator,
        threshold: input.condition.threshold,
        duration: input.condition.duration ?? 0,
        recoveryThreshold: input.recoveryThreshold ?? null,
        keepFiringFor: input.keepFiringFor ?? 0,
        severity: severityOf(input.severity),
      };
      checkRule(rule);
      const now = deps.clock.now();
      const id = `rule_${randomBytes(8).toString('hex')}`;
      return inTransaction(deps.pool, async (db) => {
        const channels = await channelIds(db, input.channels);
        const [taken] = await db.query(`SELECT 1 FROM "AlertRule" WHERE name = $1`, [input.name]);
        if (taken) throw new AppError('CONFLICT', `an alert rule named "${input.name}" exists`, { field: 'name' });
        await db.execute(
          `INSERT INTO "AlertRule" (id, name, enabled, metric, labels, operator, threshold, duration, "recoveryThreshold", "keepFiringFor", severity, channels, metadata, "noData", "createdAt", "updatedAt")
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, true, $14, $14)`,
          [id, input.name, input.enabled ?? true, input.metric, JSON.stringify(input.labels ?? {}), rule.operator, rule.threshold, rule.duration, rule.recoveryThreshold, rule.keepFiringFor, rule.severity, channels, JSON.stringify(input.metadata ?? {}), now],
        );
        const created = toRule(await ruleRow(db, id), await channelNames(db));
        await deps.audit.record(db, actor, { action: 'alert_rule.create', resourceType: 'alert_rule', resourceId: id, before: null, after: created });
        return created;
      });
    },

    async updateRule(id: string, patch: RulePatch, actor: AuditActor): Promise<RuleRecord> {
      const now = deps.clock.now();
      return inTransaction(deps.pool, async (db) => {
        const names = await channelNames(db);
        const before = await ruleRow(db, id, true);
        const next = {
          name: patch.name ?? before.name,
          enabled: patch.enabled ?? before.enabled,
          metric: patch.metric ?? before.metric,
          labels: patch.labels ?? before.labels,
          operator: patch.condition?.operator ?? before.operator,
          threshold: patch.condition?.threshold ?? before.threshold,
          duration: patch.condition?.duration ?? before.duration,
          recoveryThreshold: patch.recoveryThreshold === undefined ? before.recoveryThreshold : patch.recoveryThreshold,
          keepFiringFor: patch.keepFiringFor ?? before.keepFiringFor,
          severity: patch.severity ? severityOf(patch.severity) : before.severity,
          channels: patch.channels ? await channelIds(db, patch.channels) : before.channels,
          metadata: patch.metadata ?? before.metadata,
        };
        checkRule(next);
        if (next.name !== before.name && (await db.query(`SELECT 1 FROM "AlertRule" WHERE name = $1 AND id <> $2`, [next.name, id])).length) {
          throw new AppError('CONFLICT', `an alert rule named "${next.name}" exists`, { field: 'name' });
        }
        await db.execute(
          `UPDATE "AlertRule" SET name = $2, enabled = $3, metric = $4, labels = $5, operator = $6, threshold = $7, duration = $8, "recoveryThreshold" = $9,
             "keepFiringFor" = $10, severity = $11, channels = $12, metadata = $13, "updatedAt" = $14 WHERE id = $1`,
          [id, next.name, next.enabled, next.metric, JSON.stringify(next.labels), next.operator, next.threshold, next.duration, next.recoveryThreshold, next.keepFiringFor, next.severity, next.channels, JSON.stringify(next.metadata), now],
        );
        const after = toRule(await ruleRow(db, id), names);
        await deps.audit.record(db, actor, { action: 'alert_rule.update', resourceType: 'alert_rule', resourceId: id, before: toRule(before, names), after });
        return after;
      });
    },

    /** Its open alerts resolve at the next evaluation (no rule, no condition); its history stays. */
    async deleteRule(id: string, actor: AuditActor): Promise<boolean> {
      await inTransaction(deps.pool, async (db) => {
        const before = await ruleRow(db, id, true);
        await db.execute(`DELETE FROM "AlertRule" WHERE id = $1`, [id]);
        await deps.audit.record(db, actor, { action: 'alert_rule.delete', resourceType: 'alert_rule', resourceId: id, before: toRule(before, await channelNames(db)), after: null });
      });
      return true;
    },

    async silenceRule(id: string, durationSeconds: number, reason: string | null, actor: AuditActor): Promise<{ silenced: true; until: Date }> {
      if (!Number.isInteger(durationSeconds) || durationSeconds < 1 || durationSeconds > 31 * 86_400) {
        throw new AppError('BAD_USER_INPUT', 'duration: whole seconds from 1 to 2678400 (31 days)', { field: 'duration' });
      }
      const now = deps.clock.now();
      const until = new Date(now.getTime() + durationSeconds * 1_000);
      await inTransaction(deps.pool, async (db) => {
        const before = await ruleRow(db, id, true);
        // A silence extended keeps its start: alerts that fired before it still send their resolution.
        const startsAt = before.silencedUntil && before.silencedUntil > now && before.silencedAt ? before.silencedAt : now;
        await db.execute(`UPDATE "AlertRule" SET "silencedAt" = $2, "silencedUntil" = $3, "silenceReason" = $4, "updatedAt" = $5 WHERE id = $1`, [id, startsAt, until, reason, now]);
        await deps.audit.record(db, actor, {
          action: 'alert_rule.silence',
          resourceType: 'alert_rule',
          resourceId: id,
          before: { silencedUntil: before.silencedUntil, silenceReason: before.silenceReason },
          after: { silencedAt: startsAt, silencedUntil: until, silenceReason: reason },
        });
      });
      return { silenced: true, until };
    },

    // ---------- alerts ----------
    async listAlerts(filter: AlertFilter | null | undefined, page: PageRequest | null | undefined): Promise<Page<AlertRecord>> {
      const p = resolvePage(page, ALERT_SORTS, 'createdAt');
      const f = filter ?? {};
      const state = f.status && f.status !== 'OPEN' ? f.status : null;
      const values = [state, f.status === 'OPEN', f.severity ? severityOf(f.severity, 'filter.severity') : null, f.ruleId ?? null, f.rule ?? null, f.source ?? null, f.since ?? null, f.fired ?? false];
      const where = `($1::text IS NULL OR a.state::text = $1) AND (NOT $2 OR a.state <> 'RESOLVED') AND ($3::text IS NULL OR a.severity = $3)
        AND ($4::text IS NULL OR a."ruleId" = $4) AND ($5::text IS NULL OR a."ruleId" = $5 OR r.name = $5) AND ($6::text IS NULL OR a.source::text = $6)
        AND ($7::timestamptz IS NULL OR a."createdAt" >= $7) AND (NOT $8 OR a."firedAt" IS NOT NULL)`;
      const order = `a."${p.sort}" ${p.order === 'asc' ? 'ASC' : 'DESC'} NULLS LAST, a.id`;
      const [rows, [count]] = await Promise.all([
        sql.query<AlertRow>(`SELECT ${alertColumns('a')}, r.name AS "ruleName" FROM "Alert" a LEFT JOIN "AlertRule" r ON r.id = a."ruleId" WHERE ${where} ORDER BY ${order} LIMIT $9 OFFSET $10`, [...values, p.take, p.skip]),
        sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM "Alert" a LEFT JOIN "AlertRule" r ON r.id = a."ruleId" WHERE ${where}`, values),
      ]);
      return { items: rows.map(toAlertRecord), pageInfo: pageInfo(count!.n, p.page, p.limit) };
    },

    async getAlert(id: string): Promise<AlertRecord> {
      return toAlertRecord(await alertRow(sql, id));
    },

    /** A manual alert: firing at once, source MANUAL, notified on the default channels. */
    async createManual(input: { severity: string; title: string; message?: string | null; metadata?: Record<string, unknown> | null }, actor: AuditActor): Promise<AlertRecord> {
      const now = deps.clock.now();
      const severity = severityOf(input.severity);
      const result = await inTransaction(deps.pool, async (db) => {
        const [w] = await writeAlerts(
          db,
          now,
          [
            {
              fingerprint: fingerprint(`manual:${randomUUID()}`, {}),
              source: 'MANUAL',
              ruleId: null,
              evaluated: false,
              state: 'FIRING',
              severity,
              title: input.title,
              message: input.message ?? input.title,
              labels: {},
              value: null,
              threshold: null,
              metadata: input.metadata ?? {},
              activeAt: now,
              firedAt: now,
              lastTrueAt: now,
              actor: who(actor),
              note: null,
            },
          ],
          [],
        );
        await announce(db, deps.outbox, [w!], now);
        await deps.audit.record(db, actor, { action: 'alert.create', resourceType: 'alert', resourceId: w!.alert.id, before: null, after: w!.alert });
        return w!.alert;
      });
      deps.outbox.nudge();
      return result;
    },

    acknowledge(id: string, note: string | null, actor: AuditActor): Promise<AlertRecord> {
      return changeAlert(id, actor, 'alert.acknowledge', (a) => {
        if (a.state === 'RESOLVED') throw new AppError('CONFLICT', `alert ${id} is resolved`, { field: 'id' });
        return { id, version: a.version, prevState: a.state, state: a.state, acknowledge: { at: deps.clock.now(), by: who(actor), note }, actor: who(actor), note };
      });
    },

    resolve(id: string, input: { note?: string | null; resolvedBy?: string | null }, actor: AuditActor): Promise<AlertRecord> {
      return changeAlert(id, actor, 'alert.resolve', (a) => {
        if (a.state === 'RESOLVED') throw new AppError('CONFLICT', `alert ${id} is already resolved`, { field: 'id' });
        return { id, version: a.version, prevState: a.state, state: 'RESOLVED', resolvedAt: deps.clock.now(), resolvedBy: input.resolvedBy ?? who(actor), resolutionNotes: input.note ?? null, actor: who(actor), note: input.note ?? null };
      });
    },

    /**
     * An event-raised alert (SLA budget, backup overdue, a health system): opened FIRING when `firing`
     * and none is open for the fingerprint, its severity and message refreshed when one is, resolved
     * when not `firing`. Idempotent: the writer's compare-and-set and unique index make a repeat a no-op.
     */
    async raise(signal: { subject: string; source: AlertSource; labels: Record<string, string>; firing: boolean; severity: string; title: string; message: string; value?: number | null; metadata?: Record<string, unknown> }): Promise<AlertRecord | null> {
      const now = deps.clock.now();
      const fp = fingerprint(signal.subject, signal.labels);
      const written = await inTransaction(deps.pool, async (db) => {
        const [open] = await db.query<{ id: string; state: AlertState; version: number; severity: string; message: string }>(
          `SELECT id, state, version, severity, message FROM "Alert" WHERE fingerprint = $1 AND state <> 'RESOLVED' FOR UPDATE`,
          [fp],
        );
        const w = open
          ? signal.firing
            ? open.severity === signal.severity && open.message === signal.message
              ? []
              : await writeAlerts(db, now, [], [{ id: open.id, version: open.version, prevState: open.state, state: 'FIRING', firedAt: now, severity: signal.severity, message: signal.message, value: signal.value ?? null }])
            : await writeAlerts(db, now, [], [{ id: open.id, version: open.version, prevState: open.state, state: 'RESOLVED', resolvedAt: now, message: signal.message }])
          : signal.firing
            ? await writeAlerts(db, now, [{ fingerprint: fp, source: signal.source, ruleId: null, evaluated: false, state: 'FIRING', severity: signal.severity, title: signal.title, message: signal.message, labels: signal.labels, value: signal.value ?? null, threshold: null, metadata: signal.metadata ?? {}, activeAt: now, firedAt: now, lastTrueAt: now, actor: null, note: null }], [])
            : [];
        await announce(db, deps.outbox, w, now, true);
        return w;
      });
      if (written.length) deps.outbox.nudge();
      return written[0]?.alert ?? null;
    },

    /** sla:alert as an alert: error budgets (SERVICE, GROUP) as SLA alerts, overdue backups as BACKUP alerts. */
    onSlaAlert(e: SlaAlertEvent): Promise<AlertRecord | null> {
      if (e.scope === 'BACKUP') {
        return this.raise({
          subject: 'backup',
          source: 'BACKUP',
          labels: { serviceId: e.serviceId ?? '', ...(e.slaGroupId ? { slaGroupId: e.slaGroupId } : {}) },
          firing: e.status === 'OVERDUE',
          severity: 'high',
          title: 'Backups overdue',
          message: e.message,
        });
      }
      const subjectId = (e.scope === 'GROUP' ? e.slaGroupId : e.serviceId) ?? '';
      return this.raise({
        subject: `sla-budget:${e.scope}`,
        source: 'SLA',
        labels: { scope: e.scope, subjectId },
        firing: e.status === 'AT_RISK' || e.status === 'BREACHED',
        severity: e.status === 'BREACHED' ? 'critical' : 'high',
        title: `Error budget ${e.status === 'BREACHED' ? 'exhausted' : 'at risk'}`,
        message: e.message,
        metadata: { status: e.status },
      });
    },

    /** A health system's status change (health:changed) as a HEALTH alert: unhealthy fires high, degraded medium, healthy resolves. */
    onHealthChanged(e: { system: string; status: string; message?: string | null }): Promise<AlertRecord | null> {
      const down = e.status === 'unhealthy' || e.status === 'degraded';
      return this.raise({
        subject: 'health',
        source: 'HEALTH',
        labels: { system: e.system },
        firing: down,
        severity: e.status === 'unhealthy' ? 'high' : 'medium',
        title: `Health check ${e.system} is ${e.status}`,
        message: e.message ?? `${e.system} is ${e.status}`,
      });
    },

    /** Alerts firing now by severity and source, for `GET /metrics`. */
    async firingCounts(): Promise<{ severity: string; source: string; count: number }[]> {
      return sql.query<{ severity: string; source: string; count: number }>({
        name: 'opsgraph.alerts.firing-counts',
        text: `SELECT severity, source::text AS source, count(*)::int AS count FROM "Alert" WHERE state = 'FIRING' GROUP BY severity, source`,
      });
    },

    async notifications(alertId: string, page: PageRequest | null | undefined): Promise<Page<NotificationEntry>> {
      await alertRow(sql, alertId);
      const p = resolvePage(page, ['at'] as const, 'at', 'asc');
      const all = await sql.query<NotificationEntry>(
        `SELECT n."notificationId", c.name AS channel, n."channelId", n.kind, lower(n.status::text) AS status, NULL::int AS attempt, NULL::int AS "responseCode", NULL::text AS error, NULL::int AS "durationMs", n."createdAt" AS at
           FROM "AlertNotice" n LEFT JOIN "NotificationChannel" c ON c.id = n."channelId"
           WHERE n."alertId" = $1 AND n.status IN ('SILENCED', 'SUPPRESSED', 'DEDUPLICATED', 'QUEUED')
         UNION ALL
         SELECT t."notificationId"::text, c.name, m."channelId", n.kind, t.status, t.attempt, t."responseCode", t.error, t."durationMs", t.at
           FROM (SELECT DISTINCT "notificationId", kind FROM "AlertNotice" WHERE "alertId" = $1 AND "notificationId" IS NOT NULL) n
           JOIN "Notification" m ON m.id = n."notificationId"::uuid JOIN "NotificationAttempt" t ON t."notificationId" = m.id
           LEFT JOIN "NotificationChannel" c ON c.id = m."channelId"
         ORDER BY at ${p.order === 'desc' ? 'DESC' : 'ASC'}, attempt NULLS FIRST`,
        [alertId],
      );
      return { items: all.slice(p.skip, p.skip + p.take).map((e) => ({ ...e, channel: e.channel ?? e.channelId })), pageInfo: pageInfo(all.length, p.page, p.limit) };
    },

    // ---------- channels ----------
    async channels(): Promise<ChannelRecord[]> {
      const rows = await sql.query<ChannelRow & { createdAt: Date; updatedAt: Date }>(`SELECT * FROM "NotificationChannel" ORDER BY "createdAt", id`);
      return rows.map(toChannel);
    },

    async createChannel(input: { name: string; type: 'webhook'; config: { url: string; method?: string | null; headers?: Record<string, string> | null; secret?: string | null }; enabled?: boolean | null }, actor: AuditActor): Promise<ChannelRecord> {
      if (input.type !== 'webhook') throw new AppError('BAD_USER_INPUT', 'type: only webhook channels are created (console and file exist already)', { field: 'type' });
      const problem = await webhookTargetProblem(input.config.url, deps.denyPrivate);
      if (problem) throw new AppError('BAD_USER_INPUT', `config.url: ${problem}`, { field: 'config.url' });
      const now = deps.clock.now();
      const id = `ch_${randomBytes(8).toString('hex')}`;
      return inTransaction(deps.pool, async (db) => {
        if ((await db.query(`SELECT 1 FROM "NotificationChannel" WHERE name = $1 OR id = $1`, [input.name])).length) {
          throw new AppError('CONFLICT', `a channel named "${input.name}" exists`, { field: 'name' });
        }
        const config = { url: input.config.url, method: input.config.method ?? 'POST', headers: input.config.headers ?? {} };
        await db.execute(`INSERT INTO "NotificationChannel" (id, name, type, enabled, config, secret, "createdAt", "updatedAt") VALUES ($1, $2, 'webhook', $3, $4, $5, $6, $6)`, [
          id,
          input.name,
          input.enabled ?? true,
          JSON.stringify(config),
          input.config.secret ?? null,
          now,
        ]);
        const [row] = await db.query<ChannelRow & { createdAt: Date; updatedAt: Date }>(`SELECT * FROM "NotificationChannel" WHERE id = $1`, [id]);
        const created = toChannel(row!);
        await deps.audit.record(db, actor, { action: 'notification_channel.create', resourceType: 'notification_channel', resourceId: id, before: null, after: { ...created, secret: input.config.secret ? '[REDACTED]' : null } });
        return created;
      });
    },

    async updateChannel(id: string, patch: { name?: string; enabled?: boolean; config?: { url?: string; method?: string; headers?: Record<string, string>; secret?: string | null } }, actor: AuditActor): Promise<ChannelRecord> {
      const now = deps.clock.now();
      return inTransaction(deps.pool, async (db) => {
        const [before] = await db.query<ChannelRow & { createdAt: Date; updatedAt: Date }>(`SELECT * FROM "NotificationChannel" WHERE id = $1 FOR UPDATE`, [id]);
        if (!before) throw new AppError('NOT_FOUND', `no notification channel with id ${id}`, { field: 'id' });
        if (before.type !== 'webhook' && (patch.name !== undefined || patch.config !== undefined)) {
          throw new AppError('BAD_USER_INPUT', `the ${before.type} channel can only be enabled or disabled`, { field: patch.name !== undefined ? 'name' : 'config' });
        }
        if (patch.config?.url) {
          const problem = await webhookTargetProblem(patch.config.url, deps.denyPrivate);
          if (problem) throw new AppError('BAD_USER_INPUT', `config.url: ${problem}`, { field: 'config.url' });
        }
        if (patch.name && patch.name !== before.name && (await db.query(`SELECT 1 FROM "NotificationChannel" WHERE (name = $1 OR id = $1) AND id <> $2`, [patch.name, id])).length) {
          throw new AppError('CONFLICT', `a channel named "${patch.name}" exists`, { field: 'name' });
        }
        const { secret, ...rest } = patch.config ?? {};
        const config = { ...before.config, ...rest };
        await db.execute(`UPDATE "NotificationChannel" SET name = $2, enabled = $3, config = $4, secret = $5, "updatedAt" = $6 WHERE id = $1`, [
          id,
          patch.name ?? before.name,
          patch.enabled ?? before.enabled,
          JSON.stringify(config),
          secret === undefined ? before.secret : secret,
          now,
        ]);
        const [row] = await db.query<ChannelRow & { createdAt: Date; updatedAt: Date }>(`SELECT * FROM "NotificationChannel" WHERE id = $1`, [id]);
        const after = toChannel(row!);
        await deps.audit.record(db, actor, { action: 'notification_channel.update', resourceType: 'notification_channel', resourceId: id, before: toChannel(before), after });
        return after;
      });
    },

    async deleteChannel(id: string, actor: AuditActor): Promise<boolean> {
      await inTransaction(deps.pool, async (db) => {
        const [before] = await db.query<ChannelRow & { createdAt: Date; updatedAt: Date }>(`SELECT * FROM "NotificationChannel" WHERE id = $1 FOR UPDATE`, [id]);
        if (!before) throw new AppError('NOT_FOUND', `no notification channel with id ${id}`, { field: 'id' });
        if (before.type !== 'webhook') throw new AppError('CONFLICT', `the ${before.type} channel cannot be deleted; disable it`, { field: 'id' });
        const [used] = await db.query<{ name: string }>(`SELECT name FROM "AlertRule" WHERE $1 = ANY(channels) LIMIT 1`, [id]);
        if (used) throw new AppError('CONFLICT', `rule "${used.name}" notifies this channel; change the rule first`, { field: 'id' });
        await db.execute(`DELETE FROM "NotificationChannel" WHERE id = $1`, [id]);
        await deps.audit.record(db, actor, { action: 'notification_channel.delete', resourceType: 'notification_channel', resourceId: id, before: toChannel(before), after: null });
      });
      return true;
    },

    async testChannel(id: string): Promise<DeliveryOutcome> {
      const [c] = await sql.query<ChannelRow>(`SELECT id, name, type, enabled, config, secret FROM "NotificationChannel" WHERE id = $1 OR name = $1`, [id]);
      if (!c) throw new AppError('NOT_FOUND', `no notification channel with id ${id}`, { field: 'id' });
      return deps.notifier.test(c);
    },

    /** Webhook channels with the last time each delivered something (seed 004's integrations). */
    async integrations(): Promise<{ id: string; name: string; type: string; enabled: boolean; lastSync: Date | null }[]> {
      return sql.query(
        `SELECT c.id, c.name, c.type, c.enabled, (SELECT max(n."deliveredAt") FROM "Notification" n WHERE n."channelId" = c.id) AS "lastSync"
         FROM "NotificationChannel" c WHERE c.type = 'webhook' ORDER BY c."createdAt", c.id`,
      );
    },

    // ---------- config ----------
    config(): Promise<AlertingConfig> {
      return readAlertingConfig(sql);
    },

    async updateConfig(patch: AlertingConfigPatch, actor: AuditActor): Promise<AlertingConfig> {
      return inTransaction(deps.pool, async (db) => {
        if (patch.defaultChannels) await channelIds(db, patch.defaultChannels).catch((err: unknown) => {
          throw err instanceof AppError ? new AppError('BAD_USER_INPUT', err.message.replace(/^channels/, 'defaultChannels'), { field: 'defaultChannels' }) : err;
        });
        const before = await readAlertingConfig(db, true);
        const after = applyPatch(before, patch);
        await writeAlertingConfig(db, after);
        await deps.audit.record(db, actor, { action: 'alerting_config.update', resourceType: 'alerting_config', resourceId: null, before, after });
        return after;
      });
    },
  };
}

export type AlertsService = ReturnType<typeof createAlertsService>;

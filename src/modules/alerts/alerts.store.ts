import type { Outbox } from '../../infra/outbox.js';
import type { Sql } from '../../infra/sql.js';
import type { OpenState } from '../../lib/alerting.js';
import { ALERT_CHANGED, type AlertChangedEvent, type AlertSource, type AlertState } from './alerts.events.js';
import { alertColumns, toAlertRecord, type AlertRecord, type AlertRow } from './alerts.records.js';

/**
 * The one writer of alert state. Every change (an evaluation cycle's thousands, an operator's one)
 * goes through `writeAlerts`: one statement that opens new alerts, moves existing ones, and
 * appends their transitions to the history; then their `alert:changed` events go to the outbox in
 * the same transaction.
 *
 * Concurrency is settled in that statement, never by reading first:
 * - an update is a compare-and-set on the version (and state) the writer read: a second evaluator
 *   that decided the same transition from the same version updates nothing;
 * - a new alert is inserted under the partial unique index "one open alert per fingerprint"
 *   (ON CONFLICT DO NOTHING): a second evaluator opening the same alert inserts nothing.
 * So each transition happens, is stored and is announced exactly once, however many write it.
 *
 * A firing alert follows from a silent node when a NODE alert of its `nodeId` label is firing:
 * it is marked `suppressedBy` that alert as it fires (the notifier then holds it).
 */

export interface NewAlert {
  fingerprint: string;
  source: AlertSource;
  ruleId: string | null;
  evaluated: boolean;
  state: OpenState;
  severity: string;
  title: string;
  message: string;
  labels: Record<string, string>;
  value: number | null;
  threshold: number | null;
  metadata: Record<string, unknown>;
  activeAt: Date;
  firedAt: Date | null;
  lastTrueAt: Date | null;
  actor: string | null;
  note: string | null;
}

/** A change to an alert read at `version` in `prevState`; an absent field stays as it is. */
export interface AlertUpdate {
  id: string;
  version: number;
  prevState: AlertState;
  state: AlertState;
  value?: number | null;
  firedAt?: Date | null;
  lastTrueAt?: Date | null;
  resolvedAt?: Date | null;
  resolvedBy?: string | null;
  resolutionNotes?: string | null;
  severity?: string | null;
  message?: string | null;
  acknowledge?: { at: Date; by: string; note: string | null } | null;
  actor?: string | null;
  note?: string | null;
}

export interface WrittenAlert {
  alert: AlertRecord;
  previousStatus: AlertState | null;
  /** A state change (stored in the history), not only new values. */
  transition: boolean;
}

const suppressor = (labels: string, source: string) => `(SELECT sup.id FROM "Alert" sup
   WHERE sup.source = 'NODE' AND sup.state = 'FIRING' AND ${source} <> 'NODE'
     AND ${labels} ? 'nodeId' AND sup.labels->>'nodeId' = ${labels}->>'nodeId'
   ORDER BY sup."firedAt" LIMIT 1)`;

const nul = <T>(v: T | undefined): T | null => (v === undefined ? null : v);

/** Opens and moves alerts in one statement (see above); answers every row it wrote. */
export async function writeAlerts(db: Sql, now: Date, opens: readonly NewAlert[], updates: readonly AlertUpdate[]): Promise<WrittenAlert[]> {
  if (!opens.length && !updates.length) return [];
  const u = updates;
  const o = opens;
  const rows = await db.query<AlertRow & { prev_state: AlertState | null; transition: boolean; ruleName: string | null }>({
    name: 'opsgraph.alerts.write',
    text: `WITH c AS (
       SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::float8[], $6::timestamptz[], $7::timestamptz[], $8::timestamptz[],
                            $9::text[], $10::text[], $11::text[], $12::text[], $13::timestamptz[], $14::text[], $15::text[], $16::text[], $17::text[])
         AS c(id, version, prev_state, state, value, fired, last_true, resolved, resolved_by, notes, severity, message, ack_at, ack_by, ack_note, actor, note)),
     upd AS (
       UPDATE "Alert" a SET
         state = c.state::"AlertState",
         value = COALESCE(c.value, a.value),
         "firedAt" = COALESCE(c.fired, a."firedAt"),
         "lastTrueAt" = COALESCE(c.last_true, a."lastTrueAt"),
         "resolvedAt" = COALESCE(c.resolved, a."resolvedAt"),
         "resolvedBy" = COALESCE(c.resolved_by, a."resolvedBy"),
         "resolutionNotes" = COALESCE(c.notes, a."resolutionNotes"),
         severity = COALESCE(c.severity, a.severity),
         message = COALESCE(c.message, a.message),
         -- An acknowledgement holds for the state it was given in: any transition clears it.
         "acknowledgedAt" = CASE WHEN c.ack_at IS NOT NULL THEN c.ack_at WHEN c.state = c.prev_state THEN a."acknowledgedAt" END,
         "acknowledgedBy" = CASE WHEN c.ack_at IS NOT NULL THEN c.ack_by WHEN c.state = c.prev_state THEN a."acknowledgedBy" END,
         "acknowledgeNote" = CASE WHEN c.ack_at IS NOT NULL THEN c.ack_note WHEN c.state = c.prev_state THEN a."acknowledgeNote" END,
         "suppressedBy" = CASE WHEN c.state = 'FIRING' AND c.prev_state <> 'FIRING' THEN ${suppressor('a.labels', 'a.source')} ELSE a."suppressedBy" END,
         version = a.version + 1,
         "updatedAt" = $35
       FROM c WHERE a.id = c.id AND a.version = c.version AND a.state::text = c.prev_state
       RETURNING ${alertColumns('a')}, c.prev_state, c.state <> c.prev_state AS transition, c.actor, c.note),
     n AS (
       SELECT * FROM unnest($18::text[], $19::text[], $20::text[], $21::boolean[], $22::text[], $23::text[], $24::text[], $25::text[], $26::jsonb[],
                            $27::float8[], $28::float8[], $29::jsonb[], $30::timestamptz[], $31::timestamptz[], $32::timestamptz[], $33::text[], $34::text[])
         AS n(fingerprint, source, rule_id, evaluated, state, severity, title, message, labels, value, threshold, metadata, active_at, fired_at, last_true, actor, note)),
     ins AS (
       INSERT INTO "Alert" (id, fingerprint, source, "ruleId", evaluated, state, severity, title, message, labels, value, threshold, metadata,
                            "activeAt", "firedAt", "lastTrueAt", "suppressedBy", version, "createdAt", "updatedAt")
       SELECT 'alt_' || replace(gen_random_uuid()::text, '-', ''), n.fingerprint, n.source::"AlertSource", n.rule_id, n.evaluated, n.state::"AlertState",
              n.severity, n.title, n.message, n.labels, n.value, n.threshold, n.metadata, n.active_at, n.fired_at, n.last_true,
              CASE WHEN n.state = 'FIRING' THEN ${suppressor('n.labels', 'n.source')} END, 1, $35, $35
       FROM n
       ON CONFLICT (fingerprint) WHERE state <> 'RESOLVED' DO NOTHING
       RETURNING ${ALERT_RETURNING}),
     hist AS (
       INSERT INTO "AlertTransition" ("alertId", seq, "fromState", "toState", at, value, actor, note)
       SELECT id, version, prev_state::"AlertState", state, $35, value, actor, note FROM upd WHERE transition
       UNION ALL
       SELECT ins.id, 1, NULL, ins.state, $35, ins.value, n.actor, n.note FROM ins JOIN n ON n.fingerprint = ins.fingerprint)
     SELECT w.*, r.name AS "ruleName" FROM (
       SELECT ${alertColumns('upd')}, upd.prev_state, upd.transition FROM upd
       UNION ALL
       SELECT ${alertColumns('ins')}, NULL, true FROM ins) w
     LEFT JOIN "AlertRule" r ON r.id = w."ruleId"`,
    values: [
      u.map((x) => x.id),
      u.map((x) => x.version),
      u.map((x) => x.prevState),
      u.map((x) => x.state),
      u.map((x) => nul(x.value)),
      u.map((x) => nul(x.firedAt)),
      u.map((x) => nul(x.lastTrueAt)),
      u.map((x) => nul(x.resolvedAt)),
      u.map((x) => nul(x.resolvedBy)),
      u.map((x) => nul(x.resolutionNotes)),
      u.map((x) => nul(x.severity)),
      u.map((x) => nul(x.message)),
      u.map((x) => x.acknowledge?.at ?? null),
      u.map((x) => x.acknowledge?.by ?? null),
      u.map((x) => x.acknowledge?.note ?? null),
      u.map((x) => nul(x.actor)),
      u.map((x) => nul(x.note)),
      o.map((x) => x.fingerprint),
      o.map((x) => x.source),
      o.map((x) => x.ruleId),
      o.map((x) => x.evaluated),
      o.map((x) => x.state),
      o.map((x) => x.severity),
      o.map((x) => x.title),
      o.map((x) => x.message),
      o.map((x) => JSON.stringify(x.labels)),
      o.map((x) => x.value),
      o.map((x) => x.threshold),
      o.map((x) => JSON.stringify(x.metadata)),
      o.map((x) => x.activeAt),
      o.map((x) => x.firedAt),
      o.map((x) => x.lastTrueAt),
      o.map((x) => x.actor),
      o.map((x) => x.note),
      now,
    ],
  });
  return rows.map((r) => ({ alert: toAlertRecord(r), previousStatus: r.prev_state, transition: r.transition }));
}

const ALERT_RETURNING = 'id, fingerprint, source, "ruleId", state, severity, title, message, labels, value, threshold, metadata, "activeAt", "firedAt", "resolvedAt", "acknowledgedAt", "acknowledgedBy", "acknowledgeNote", "resolvedBy", "resolutionNotes", "suppressedBy", version, "createdAt", "updatedAt"';

/** The `alert:changed` events of written alerts that changed state (or all, for an operator's change), into the outbox. */
export async function announce(db: Sql, outbox: Pick<Outbox, 'add'>, written: readonly WrittenAlert[], at: Date, all = false): Promise<void> {
  const events: AlertChangedEvent[] = written.filter((w) => all || w.transition).map((w) => ({ alert: w.alert, previousStatus: w.previousStatus, at }));
  await outbox.add(db, ALERT_CHANGED, events);
}

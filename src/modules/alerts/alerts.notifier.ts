import { createHash, createHmac, randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { appendFile, mkdir } from 'node:fs/promises';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { dirname } from 'node:path';
import { UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import { inTransaction, sqlOf, type Sql } from '../../infra/sql.js';
import { isPrivateAddress } from '../../lib/ip.js';
import type { AlertChangedEvent } from './alerts.events.js';
import { readAlertingConfig } from './alerts.config.js';
import { alertColumns, toAlertRecord, type AlertRecord, type AlertRow } from './alerts.records.js';

/**
 * Notifications: from an alert's transition to a message on each of its channels, with every
 * attempt stored.
 *
 * 1. `route` (a job per `alert:changed` outbox row): a transition to FIRING, or to RESOLVED from
 *    FIRING, becomes one notice per channel of the alert (its rule's channels, or the config's
 *    `defaultChannels`), unique per (alert, transition, channel). A notice is QUEUED, or held and
 *    recorded as such: SUPPRESSED (the alert follows from a silent node), SILENCED (its rule is
 *    silenced; a resolution of an alert whose firing was sent goes out anyway while
 *    ALERT_RESOLVE_THROUGH_SILENCE), DEDUPLICATED (the same fingerprint notified that channel
 *    within the deduplication window). A resolution is sent only where the firing was.
 * 2. `dispatch` (a job per channel and aggregation window): every QUEUED notice of the channel
 *    becomes one message, a Notification whose body (and so signature) is fixed once; with
 *    aggregation off each notice is a message of its own.
 * 3. `deliver` (a job per message, retried with exponential backoff up to NOTIFY_MAX_ATTEMPTS):
 *    sends, stores the attempt, and marks the message DELIVERED or, after the last attempt (or a
 *    refusal that will not change, a 4xx other than 408 and 429), FAILED. A message already
 *    delivered is never sent again, and its Idempotency-Key (its id) lets a receiver drop a repeat
 *    of one whose answer was lost.
 *
 * Aggregation windows and retries run on real time (BullMQ delays), not the injected clock: they
 * schedule real work, as the outbox's retries do. Deduplication is decided by the clock.
 */

export type NoticeStatus = 'QUEUED' | 'SENDING' | 'SENT' | 'FAILED' | 'SILENCED' | 'SUPPRESSED' | 'DEDUPLICATED';

export interface ChannelRow {
  id: string;
  name: string;
  type: 'console' | 'file' | 'webhook';
  enabled: boolean;
  config: { url?: string; method?: string; headers?: Record<string, string> };
  secret: string | null;
}

export interface DeliveryOutcome {
  delivered: boolean;
  status: 'delivered' | 'failed';
  responseCode: number | null;
  error: string | null;
  durationMs: number;
  /** A refusal that a retry will not change. */
  permanent?: boolean;
}

const RESPONSE_LIMIT = 64 * 1024;

// Keep-alive connections per receiver: a burst of notifications to one webhook reuses them.
const agents = { http: new HttpAgent({ keepAlive: true, maxSockets: 64 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 64 }) };

/**
 * One HTTP request with node's client (several times fetch's throughput here): never follows a
 * redirect, gives up after `timeoutMs` whatever it is waiting for, and reads at most
 * RESPONSE_LIMIT bytes of the answer before letting the connection go.
 */
function post(url: URL, method: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<{ status: number; location: string | null; text: string }> {
  return new Promise((resolve, reject) => {
    const https = url.protocol === 'https:';
    const req = (https ? httpsRequest : httpRequest)(url, { method, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, agent: https ? agents.https : agents.http }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size >= RESPONSE_LIMIT) return;
        chunks.push(c);
        size += c.length;
        if (size >= RESPONSE_LIMIT) res.destroy();
      });
      const done = () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, location: res.headers.location ?? null, text: Buffer.concat(chunks).subarray(0, RESPONSE_LIMIT).toString('utf8') });
      };
      res.on('end', done);
      res.on('close', done);
    });
    const timer = setTimeout(() => req.destroy(Object.assign(new Error(`timed out after ${timeoutMs} ms`), { name: 'TimeoutError' })), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(body);
  });
}

/** Why a webhook URL may not be used, or null. Names the problem for the `config.url` field. */
export async function webhookTargetProblem(url: string, denyPrivate: boolean, resolve = true): Promise<string | null> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'must be http or https';
  if (u.username || u.password) return 'credentials belong in headers, not in the URL';
  if (!denyPrivate) return null;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return 'loopback and private targets are refused (WEBHOOK_DENY_PRIVATE)';
  const addresses = /^[\d.]+$|:/.test(host) ? [host] : resolve ? (await lookup(host, { all: true }).catch(() => [])).map((a) => a.address) : [];
  if (addresses.some(isPrivateAddress)) return 'loopback and private targets are refused (WEBHOOK_DENY_PRIVATE)';
  return null;
}

export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function createNotifier(deps: {
  pool: pg.Pool;
  redis: Redis;
  prefix: string;
  clock: Clock;
  logger: Logger;
  filePath: string;
  resolveThroughSilence: boolean;
  denyPrivate: boolean;
  timeoutMs: number;
  /** Queues the jobs of steps 2 and 3 (alerts.jobs.ts). */
  enqueueDispatch: (p: { channelId: string; noticeIds?: string[] }, delayMs: number) => Promise<unknown>;
  enqueueDeliver: (notificationId: string) => Promise<unknown>;
}) {
  const sql = sqlOf(deps.pool);
  const windowKey = (channelId: string) => `${deps.prefix}:alerts:aggregating:${channelId}`;

  async function channelsByIdOrName(db: Sql, refs: readonly string[]): Promise<ChannelRow[]> {
    if (!refs.length) return [];
    return db.query<ChannelRow>(`SELECT id, name, type, enabled, config, secret FROM "NotificationChannel" WHERE id = ANY($1::text[]) OR name = ANY($1::text[]) ORDER BY id`, [refs]);
  }

  async function send(channel: ChannelRow, id: string, body: string): Promise<DeliveryOutcome> {
    const started = Date.now();
    const done = (o: Omit<DeliveryOutcome, 'durationMs'>): DeliveryOutcome => ({ ...o, durationMs: Date.now() - started });
    try {
      if (channel.type === 'console') {
        deps.logger.info({ notification: id, channel: channel.name, body: JSON.parse(body) as unknown }, 'alert notification');
        return done({ delivered: true, status: 'delivered', responseCode: null, error: null });
      }
      if (channel.type === 'file') {
        await mkdir(dirname(deps.filePath), { recursive: true });
        await appendFile(deps.filePath, `${body}\n`);
        return done({ delivered: true, status: 'delivered', responseCode: null, error: null });
      }
      const url = channel.config.url ?? '';
      const problem = await webhookTargetProblem(url, deps.denyPrivate);
      if (problem) return done({ delivered: false, status: 'failed', responseCode: null, error: `url: ${problem}`, permanent: true });
      const sent = JSON.parse(body) as { sentAt: string };
      const headers: Record<string, string> = {
        ...(channel.config.headers ?? {}),
        'content-type': 'application/json',
        'user-agent': 'opsgraph-alerts/1',
        'idempotency-key': id,
        'x-opsgraph-timestamp': String(Math.floor(new Date(sent.sentAt).getTime() / 1_000)),
        ...(channel.secret ? { 'x-opsgraph-signature': signature(channel.secret, body) } : {}),
      };
      const res = await post(new URL(url), channel.config.method ?? 'POST', headers, body, deps.timeoutMs);
      const text = res.text;
      if (res.status >= 200 && res.status < 300) return done({ delivered: true, status: 'delivered', responseCode: res.status, error: null });
      if (res.status >= 300 && res.status < 400) return done({ delivered: false, status: 'failed', responseCode: res.status, error: `redirect to ${res.location ?? '?'} not followed` });
      const permanent = res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429;
      return done({ delivered: false, status: 'failed', responseCode: res.status, error: `HTTP ${res.status}${text ? `: ${text.slice(0, 500)}` : ''}`, permanent });
    } catch (err) {
      const e = err as Error & { code?: string };
      const reason = e.name === 'TimeoutError' ? `timed out after ${deps.timeoutMs} ms` : (e.code ?? e.message);
      return done({ delivered: false, status: 'failed', responseCode: null, error: reason });
    }
  }

  function alertPayload(a: AlertRecord, kind: string) {
    return {
      id: a.id,
      rule: a.ruleName,
      ruleId: a.ruleId,
      severity: a.severity,
      status: kind,
      source: a.source,
      labels: a.labels,
      value: a.value,
      threshold: a.threshold,
      message: a.message,
      firedAt: a.firedAt,
      resolvedAt: kind === 'resolved' ? a.resolvedAt : null,
    };
  }

  return {
    send,

    /** Step 1 (see above); answers the notices it recorded. */
    async route(event: AlertChangedEvent): Promise<number> {
      const { alert, previousStatus } = event;
      const kind = alert.status === 'FIRING' && previousStatus !== 'FIRING' ? 'firing' : alert.status === 'RESOLVED' && previousStatus === 'FIRING' ? 'resolved' : null;
      if (!kind) return 0;
      const config = await readAlertingConfig(sql);
      const now = deps.clock.now();
      const [rule] = alert.ruleId
        ? await sql.query<{ channels: string[]; silencedAt: Date | null; silencedUntil: Date | null }>(`SELECT channels, "silencedAt", "silencedUntil" FROM "AlertRule" WHERE id = $1`, [alert.ruleId])
        : [];
      const channels = (await channelsByIdOrName(sql, rule ? rule.channels : config.defaultChannels)).filter((c) => c.enabled && config.channels[c.type].enabled);
      if (!channels.length) return 0;
      const silenced = !!rule?.silencedUntil && rule.silencedUntil > now;
      const seq = alert.version;
      // What happened to this alert's firing on each channel, and the fingerprint's recent notices.
      const firings = new Map(
        (
          await sql.query<{ channelId: string; status: NoticeStatus }>(
            `SELECT DISTINCT ON ("channelId") "channelId", status FROM "AlertNotice" WHERE "alertId" = $1 AND kind = 'firing' ORDER BY "channelId", id DESC`,
            [alert.id],
          )
        ).map((r) => [r.channelId, r.status]),
      );
      const recent = config.deduplication.enabled
        ? new Set(
            (
              await sql.query<{ channelId: string }>(
                `SELECT DISTINCT "channelId" FROM "AlertNotice" WHERE fingerprint = $1 AND kind = 'firing' AND status IN ('QUEUED', 'SENDING', 'SENT') AND "createdAt" > $2 AND "alertId" <> $3`,
                [alert.fingerprint, new Date(now.getTime() - config.deduplication.window * 1_000), alert.id],
              )
            ).map((r) => r.channelId),
          )
        : new Set<string>();
      const statusFor = (c: ChannelRow): NoticeStatus => {
        if (kind === 'firing') {
          if (alert.suppressedBy) return 'SUPPRESSED';
          if (silenced) return 'SILENCED';
          if (recent.has(c.id)) return 'DEDUPLICATED';
          return 'QUEUED';
        }
        const fired = firings.get(c.id);
        // A resolution goes where the firing went; where the firing was held, so is the resolution.
        if (fired === undefined) return alert.suppressedBy ? 'SUPPRESSED' : 'DEDUPLICATED';
        if (fired === 'SILENCED' || fired === 'SUPPRESSED' || fired === 'DEDUPLICATED') return fired;
        if (silenced && !(deps.resolveThroughSilence && rule?.silencedAt && alert.firedAt && alert.firedAt <= rule.silencedAt)) return 'SILENCED';
        return 'QUEUED';
      };
      const rows = channels.map((c) => ({ channelId: c.id, status: statusFor(c) }));
      const inserted = await sql.query<{ id: string; channelId: string; status: NoticeStatus }>(
        `INSERT INTO "AlertNotice" ("alertId", seq, "channelId", fingerprint, kind, status, "createdAt")
         SELECT $1, $2, c, $3, $4, s::"NoticeStatus", $5 FROM unnest($6::text[], $7::text[]) AS x(c, s)
         ON CONFLICT ("alertId", seq, "channelId") DO NOTHING RETURNING id::text, "channelId", status`,
        [alert.id, seq, alert.fingerprint, kind, now, rows.map((r) => r.channelId), rows.map((r) => r.status)],
      );
      for (const n of inserted.filter((x) => x.status === 'QUEUED')) {
        if (!config.aggregation.enabled || config.aggregation.window === 0) {
          await deps.enqueueDispatch({ channelId: n.channelId, noticeIds: [n.id] }, 0);
          continue;
        }
        // The first notice of a window opens it; the window's one dispatch takes every notice queued by then.
        const windowMs = config.aggregation.window * 1_000;
        const opened = await deps.redis.set(windowKey(n.channelId), n.id, 'PX', windowMs, 'NX');
        if (opened) await deps.enqueueDispatch({ channelId: n.channelId }, windowMs);
      }
      return inserted.length;
    },

    /** Step 2: one message of the channel's queued notices (or of the notices named). */
    async dispatch(p: { channelId: string; noticeIds?: string[] }): Promise<string | null> {
      // First close the window: a notice queued from now on opens the next one (none is left behind).
      if (!p.noticeIds) await deps.redis.del(windowKey(p.channelId));
      const id = randomUUID();
      const made = await inTransaction(deps.pool, async (db) => {
        const notices = await db.query<{ alertId: string; kind: string }>(
          `UPDATE "AlertNotice" SET status = 'SENDING', "notificationId" = $1
           WHERE id IN (SELECT id FROM "AlertNotice" WHERE "channelId" = $2 AND status = 'QUEUED' AND ($3::bigint[] IS NULL OR id = ANY($3::bigint[])) ORDER BY id FOR UPDATE SKIP LOCKED)
           RETURNING "alertId", kind`,
          [id, p.channelId, p.noticeIds ?? null],
        );
        if (!notices.length) return false;
        const rows = await db.query<AlertRow>(
          `SELECT ${alertColumns('a')}, r.name AS "ruleName" FROM "Alert" a LEFT JOIN "AlertRule" r ON r.id = a."ruleId" WHERE a.id = ANY($1::text[])`,
          [[...new Set(notices.map((n) => n.alertId))]],
        );
        const alerts = new Map(rows.map((r) => [r.id, toAlertRecord(r)]));
        const items = notices.flatMap((n) => (alerts.has(n.alertId) ? [alertPayload(alerts.get(n.alertId)!, n.kind)] : []));
        const status = items.some((i) => i.status === 'firing') ? 'firing' : 'resolved';
        const fps = [...new Set(notices.map((n) => alerts.get(n.alertId)?.fingerprint ?? n.alertId))].sort();
        const groupKey = `${p.channelId}:${fps.length === 1 ? fps[0] : createHash('sha256').update(fps.join(',')).digest('hex').slice(0, 32)}`;
        const body = JSON.stringify({ version: '1', status, groupKey, alerts: items, sentAt: deps.clock.now().toISOString() });
        await db.execute(`INSERT INTO "Notification" (id, "channelId", kind, "groupKey", body) VALUES ($1, $2, $3, $4, $5)`, [id, p.channelId, status, groupKey, body]);
        return true;
      });
      if (!made) return null;
      await deps.enqueueDeliver(id);
      return id;
    },

    /** Step 3: one attempt; throws for BullMQ to retry, UnrecoverableError when retrying cannot help. */
    async deliver(notificationId: string, attempt: { made: number; max: number }): Promise<DeliveryOutcome | null> {
      const [n] = await sql.query<{ channelId: string; body: string; status: string; channel: ChannelRow | null }>({
        name: 'opsgraph.alerts.delivery',
        text: `SELECT m."channelId", m.body, m.status,
                 (SELECT row_to_json(c) FROM (SELECT id, name, type, enabled, config, secret FROM "NotificationChannel" WHERE id = m."channelId") c) AS channel
               FROM "Notification" m WHERE m.id = $1`,
        values: [notificationId],
      });
      if (!n || n.status !== 'PENDING') return null;
      const outcome: DeliveryOutcome = n.channel
        ? await send(n.channel, notificationId, n.body)
        : { delivered: false, status: 'failed', responseCode: null, error: 'channel deleted', durationMs: 0, permanent: true };
      const last = outcome.delivered || outcome.permanent || attempt.made + 1 >= attempt.max;
      const final = !last ? null : outcome.delivered ? 'DELIVERED' : 'FAILED';
      // One statement: the attempt, the message's count and, after the last attempt, its outcome and its notices'.
      await sql.execute({
        name: 'opsgraph.alerts.delivered',
        text: `WITH m AS (
             UPDATE "Notification" SET attempts = attempts + 1, status = COALESCE($7::"NotificationStatus", status),
               "deliveredAt" = CASE WHEN $7 = 'DELIVERED' THEN now() ELSE "deliveredAt" END
             WHERE id = $1 RETURNING attempts),
           t AS (
             INSERT INTO "NotificationAttempt" ("notificationId", attempt, status, "responseCode", error, "durationMs", at)
             SELECT $1, m.attempts, $2, $3, $4, $5, $6 FROM m)
           UPDATE "AlertNotice" SET status = CASE WHEN $7 = 'DELIVERED' THEN 'SENT' ELSE 'FAILED' END::"NoticeStatus"
           WHERE "notificationId" = $1::text AND $7::text IS NOT NULL`,
        values: [notificationId, outcome.status, outcome.responseCode, outcome.error, outcome.durationMs, deps.clock.now(), final],
      });
      if (!outcome.delivered) {
        deps.logger.warn({ notification: notificationId, channel: n.channelId, attempt: attempt.made + 1, err: outcome.error }, last ? 'alert notification failed; giving up' : 'alert notification failed; retrying');
        if (last) throw new UnrecoverableError(outcome.error ?? 'delivery failed');
        throw new Error(outcome.error ?? 'delivery failed');
      }
      return outcome;
    },

    /** A `test` message to one channel, now, once; stored like any other, answered with its outcome. */
    async test(channel: ChannelRow): Promise<DeliveryOutcome> {
      const id = randomUUID();
      const now = deps.clock.now();
      const body = JSON.stringify({ version: '1', status: 'test', groupKey: `${channel.id}:test`, alerts: [], sentAt: now.toISOString() });
      await sql.execute(`INSERT INTO "Notification" (id, "channelId", kind, "groupKey", body) VALUES ($1, $2, 'test', $3, $4)`, [id, channel.id, `${channel.id}:test`, body]);
      const outcome = await send(channel, id, body);
      await inTransaction(deps.pool, async (db) => {
        await db.execute(`UPDATE "Notification" SET attempts = 1, status = $2::"NotificationStatus", "deliveredAt" = CASE WHEN $2 = 'DELIVERED' THEN now() END WHERE id = $1`, [
          id,
          outcome.delivered ? 'DELIVERED' : 'FAILED',
        ]);
        await db.execute(`INSERT INTO "NotificationAttempt" ("notificationId", attempt, status, "responseCode", error, "durationMs", at) VALUES ($1, 1, $2, $3, $4, $5, $6)`, [
          id,
          outcome.status,
          outcome.responseCode,
          outcome.error,
          outcome.durationMs,
          now,
        ]);
      });
      return outcome;
    },
  };
}

export type Notifier = ReturnType<typeof createNotifier>;

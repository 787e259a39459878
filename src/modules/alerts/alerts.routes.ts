import type { Request } from 'express';
import { z } from 'zod';
import { sendData } from '../../http/envelope.js';
import { requestActor, type MountPoint, type RouteDef } from '../../http/routes.js';
import { parseInput } from '../../http/validate.js';
import type { Clock } from '../../infra/clock.js';
import { OPERATORS } from '../../lib/alerting.js';
import { AppError } from '../../lib/errors.js';
import type { Page } from '../../lib/pagination.js';
import { alertingConfigPatch } from './alerts.config.js';
import type { AlertRecord } from './alerts.records.js';
import type { AlertsService } from './alerts.service.js';

const name = z.string().trim().min(1).max(200);
const text = (max: number) => z.string().max(max);
const labels = z.record(z.string().min(1).max(100), z.string().max(200)).refine((l) => Object.keys(l).length <= 32, 'at most 32 labels');
const metadata = z.record(z.string().max(100), z.unknown()).refine((m) => JSON.stringify(m).length <= 10_000, 'at most 10,000 characters as JSON');
const severity = z.enum(['critical', 'high', 'medium', 'low', 'warning', 'info']);
const metricName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.:]{0,199}$/, 'a metric name: letters, digits, "_", "." and ":"');
const seconds = z.number().int('whole seconds').min(0, 'seconds, 0 or more').max(31 * 86_400);
const operator = z.enum(OPERATORS, { error: `one of ${OPERATORS.join(' ')}` });

const ruleBody = z.strictObject({
  name,
  metric: metricName,
  labels: labels.optional(),
  condition: z.strictObject({ operator, threshold: z.number(), duration: seconds.optional() }),
  recoveryThreshold: z.number().nullable().optional(),
  keepFiringFor: seconds.optional(),
  severity: z.enum(['critical', 'high', 'medium', 'low']),
  channels: z.array(z.string().min(1).max(100)).max(20),
  metadata: metadata.optional(),
  enabled: z.boolean().optional(),
});
const rulePatch = z.strictObject({
  name: name.optional(),
  metric: metricName.optional(),
  labels: labels.optional(),
  condition: z.strictObject({ operator: operator.optional(), threshold: z.number().optional(), duration: seconds.optional() }).optional(),
  recoveryThreshold: z.number().nullable().optional(),
  keepFiringFor: seconds.optional(),
  severity: z.enum(['critical', 'high', 'medium', 'low']).optional(),
  channels: z.array(z.string().min(1).max(100)).max(20).optional(),
  metadata: metadata.optional(),
  enabled: z.boolean().optional(),
});
const pageQuery = {
  page: z.coerce.number().int().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(100).optional(),
};
const note = z.strictObject({ note: text(2_000).nullable().optional() });
const webhookConfig = z.strictObject({
  url: z.string().min(1).max(2_000),
  method: z.enum(['POST', 'PUT', 'PATCH']).optional(),
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,100}$/, 'a header name'), z.string().max(2_000)).optional(),
  secret: z.string().min(8).max(500).optional(),
});
const channelBody = z.strictObject({ name: z.string().trim().min(1).max(100), type: z.literal('webhook'), config: webhookConfig, enabled: z.boolean().optional() });
const channelPatch = z.strictObject({
  name: z.string().trim().min(1).max(100).optional(),
  enabled: z.boolean().optional(),
  config: webhookConfig.partial().extend({ secret: z.string().min(8).max(500).nullable().optional() }).optional(),
});

/** "1h", "30m", "7d", "90s" → milliseconds; refused with the field named otherwise. */
function durationMs(v: string, field: string): number {
  const m = /^(\d{1,6})([smhd])$/.exec(v);
  if (!m) throw new AppError('BAD_USER_INPUT', `${field}: a duration such as 30m, 1h or 7d`, { field });
  return Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

const id = (req: Request) => String(req.params.id);
const pagination = (p: Page<unknown>['pageInfo']) => ({ pagination: p });

/** seed 000's history entry. */
const historyEntry = (a: AlertRecord) => ({
  id: a.id,
  rule: a.ruleName ?? a.title,
  ruleId: a.ruleId,
  source: a.source,
  severity: a.severity,
  status: a.status.toLowerCase(),
  firedAt: a.firedAt,
  resolvedAt: a.resolvedAt,
  duration: a.firedAt ? (a.resolvedAt ?? new Date()).getTime() - a.firedAt.getTime() : null,
  value: a.value,
  threshold: a.threshold,
  message: a.message,
  labels: a.labels,
  acknowledgedAt: a.acknowledgedAt,
  acknowledgedBy: a.acknowledgedBy,
  resolvedBy: a.resolvedBy,
  resolutionNotes: a.resolutionNotes,
  suppressedBy: a.suppressedBy,
});

/** seed 004's alert. */
const seed004Alert = (a: AlertRecord) => ({
  alert_id: a.id,
  severity: a.severity,
  title: a.title,
  message: a.message,
  status: a.status === 'RESOLVED' ? 'resolved' : 'active',
  created_at: a.createdAt,
  resolved_at: a.resolvedAt,
  resolved_by: a.resolvedBy,
  resolution_notes: a.resolutionNotes,
  metadata: { ...a.metadata, source: a.source, labels: a.labels, value: a.value, threshold: a.threshold, state: a.status.toLowerCase() },
});

export function alertsRoutes(deps: { alerts: AlertsService; clock: Clock }): { mount: MountPoint; routes: RouteDef[] }[] {
  const { alerts, clock } = deps;
  const routes: RouteDef[] = [
    // ---------- seed 000: rules, history, config ----------
    {
      method: 'get',
      path: '/alerts/rules',
      access: 'VIEWER',
      rateLimit: 'standard',
      handler: async (req, res) => {
        const q = parseInput(z.strictObject({ status: z.enum(['enabled', 'disabled', 'all']).optional(), severity: severity.optional(), ...pageQuery }), req.query, 'query');
        const page = await alerts.listRules(q, q);
        sendData(res, page.items, 200, pagination(page.pageInfo));
      },
    },
    {
      method: 'post',
      path: '/alerts/rules',
      access: 'ADMIN',
      rateLimit: 'standard',
      handler: async (req, res) => sendData(res, await alerts.createRule(parseInput(ruleBody, req.body), requestActor(req)), 201),
    },
    { method: 'get', path: '/alerts/rules/:id', access: 'VIEWER', rateLimit: 'standard', handler: async (req, res) => sendData(res, await alerts.getRule(id(req))) },
    {
      method: 'patch',
      path: '/alerts/rules/:id',
      access: 'ADMIN',
      rateLimit: 'standard',
      handler: async (req, res) => {
        const rule = await alerts.updateRule(id(req), parseInput(rulePatch, req.body), requestActor(req));
        sendData(res, { id: rule.id, updated: true, rule });
      },
    },
    {
      method: 'delete',
      path: '/alerts/rules/:id',
      access: 'ADMIN',
      rateLimit: 'standard',
      handler: async (req, res) => {
        await alerts.deleteRule(id(req), requestActor(req));
        res.status(204).end();
      },
    },
    {
      method: 'post',
      path: '/alerts/rules/:id/silence',
      access: 'OPERATOR',
      rateLimit: 'standard',
      handler: async (req, res) => {
        const b = parseInput(z.strictObject({ duration: z.number().int('whole seconds').min(1).max(31 * 86_400), reason: text(500).optional() }), req.body);
        sendData(res, await alerts.silenceRule(id(req), b.duration, b.reason ?? null, requestActor(req)));
      },
    },
    {
      method: 'get',
      path: '/alerts/history',
      access: 'VIEWER',
      rateLimit: 'standard',
      handler: async (req, res) => {
        const q = parseInput(z.strictObject({ rule: z.string().max(200).optional(), severity: severity.optional(), status: z.enum(['firing', 'resolved', 'pending']).optional(), since: z.string().optional(), ...pageQuery }), req.query, 'query');
        const since = q.since ? new Date(clock.now().getTime() - durationMs(q.since, 'since')) : null;
        const page = await alerts.listAlerts({ rule: q.rule, severity: q.severity, status: q.status ? (q.status.toUpperCase() as 'FIRING') : null, since, fired: q.status !== 'pending' }, { page: q.page, limit: q.limit, sort: 'createdAt' });
        sendData(res, page.items.map(historyEntry), 200, pagination(page.pageInfo));
      },
    },
    { method: 'get', path: '/alerts/config', access: 'VIEWER', rateLimit: 'standard', handler: async (_req, res) => sendData(res, await alerts.config()) },
    {
      method: 'patch',
      path: '/alerts/config',
      access: 'ADMIN',
      rateLimit: 'standard',
      handler: async (req, res) => sendData(res, await alerts.updateConfig(parseInput(alertingConfigPatch, req.body), requestActor(req))),
    },
    // ---------- seed 001: acknowledge, resolve, notifications, channels ----------
    {
      method: 'post',
      path: '/alerts/:id/acknowledge',
      access: 'OPERATOR',
      rateLimit: 'standard',
      handler: async (req, res) => sendData(res, await alerts.acknowledge(id(req), parseInput(note, req.body ?? {}).note ?? null, requestActor(req))),
    },
    {
      method: 'post',
      path: '/alerts/:id/resolve',
      access: 'OPERATOR',
      rateLimit: 'standard',
      handler: async (req, res) => sendData(res, await alerts.resolve(id(req), { note: parseInput(note, req.body ?? {}).note }, requestActor(req))),
    },
    {
      method: 'get',
      path: '/alerts/:id/notifications',
      access: 'VIEWER',
      rateLimit: 'standard',
      handler: async (req, res) => {
        const q = parseInput(z.strictObject(pageQuery), req.query, 'query');
        const page = await alerts.notifications(id(req), q);
        sendData(res, page.items, 200, pagination(page.pageInfo));
      },
    },
    { method: 'get', path: '/alerts/channels', access: 'VIEWER', rateLimit: 'standard', handler: async (_req, res) => sendData(res, await alerts.channels()) },
    {
      method: 'post',
      path: '/alerts/channels',
      access: 'ADMIN',
      rateLimit: 'standard',
      handler: async (req, res) => sendData(res, await alerts.createChannel(parseInput(channelBody, req.body), requestActor(req)), 201),
    },
    {
      method: 'patch',
      path: '/alerts/channels/:id',
      access: 'ADMIN',
      rateLimit: 'standard',
      handler: async (req, res) => sendData(res, await alerts.updateChannel(id(req), parseInput(channelPatch, req.body), requestActor(req))),
    },
    {
      method: 'delete',
      path: '/alerts/channels/:id',
      access: 'ADMIN',
      rateLimit: 'standard',
      handler: async (req, res) => {
        await alerts.deleteChannel(id(req), requestActor(req));
        res.status(204).end();
      },
    },
    { method: 'post', path: '/alerts/channels/:id/test', access: 'ADMIN', rateLimit: 'standard', handler: async (req, res) => sendData(res, await alerts.testChannel(id(req))) },
    // ---------- seed 004: alerts and integrations, in its own shapes ----------
    {
      method: 'get',
      path: '/alerts',
      access: 'VIEWER',
      rateLimit: 'standard',
      handler: async (req, res) => {
        const q = parseInput(z.strictObject({ status: z.enum(['active', 'resolved', 'all']).optional(), severity: severity.optional(), ...pageQuery }), req.query, 'query');
        const status = q.status === 'all' ? null : q.status === 'resolved' ? 'RESOLVED' : 'OPEN';
        const page = await alerts.listAlerts({ status, severity: q.severity }, { page: q.page, limit: q.limit ?? 100 });
        res.json({ alerts: page.items.map(seed004Alert), total: page.pageInfo.total });
      },
    },
    {
      method: 'post',
      path: '/alerts',
      access: 'OPERATOR',
      rateLimit: 'standard',
      handler: async (req, res) => {
        const b = parseInput(z.strictObject({ severity, title: name, message: text(5_000).optional(), metadata: metadata.optional() }), req.body);
        const a = await alerts.createManual(b, requestActor(req));
        res.status(201).json({ success: true, alert_id: a.id, created_at: a.createdAt });
      },
    },
    {
      method: 'patch',
      path: '/alerts/:id',
      access: 'OPERATOR',
      rateLimit: 'standard',
      handler: async (req, res) => {
        const b = parseInput(z.strictObject({ status: z.literal('resolved'), resolved_by: z.string().min(1).max(200).optional(), resolution_notes: text(2_000).optional() }), req.body);
        const a = await alerts.resolve(id(req), { note: b.resolution_notes ?? null, resolvedBy: b.resolved_by ?? null }, requestActor(req));
        res.json({ success: true, alert: seed004Alert(a) });
      },
    },
    {
      method: 'get',
      path: '/integrations',
      access: 'VIEWER',
      rateLimit: 'standard',
      handler: async (_req, res) => {
        const list = await alerts.integrations();
        res.json({ integrations: list.map((i) => ({ integration_id: i.id, name: i.name, type: i.type, status: i.enabled ? 'active' : 'inactive', last_sync: i.lastSync })) });
      },
    },
    {
      method: 'post',
      path: '/integrations',
      access: 'ADMIN',
      rateLimit: 'standard',
      handler: async (req, res) => {
        const b = parseInput(z.strictObject({ name: z.string().trim().min(1).max(100), type: z.literal('webhook', { error: 'only webhook integrations' }), config: webhookConfig }), req.body);
        const c = await alerts.createChannel(b, requestActor(req));
        res.status(201).json({ success: true, integration_id: c.id });
      },
    },
    // ---------- seed 001: monitoring alerts, the same alerts ----------
    {
      method: 'get',
      path: '/monitoring/alerts',
      access: 'VIEWER',
      rateLimit: 'standard',
      handler: async (req, res) => {
        const q = parseInput(z.strictObject({ hours: z.coerce.number().int().min(1).max(8_760).optional(), severity: severity.optional(), resolved: z.enum(['true', 'false']).optional(), ...pageQuery }), req.query, 'query');
        const since = new Date(clock.now().getTime() - (q.hours ?? 24) * 3_600_000);
        const page = await alerts.listAlerts({ since, severity: q.severity, status: q.resolved === 'true' ? 'RESOLVED' : q.resolved === 'false' ? 'OPEN' : null }, q);
        sendData(res, page.items.map(historyEntry), 200, pagination(page.pageInfo));
      },
    },
    {
      method: 'post',
      path: '/monitoring/alerts/:id/resolve',
      access: 'OPERATOR',
      rateLimit: 'standard',
      handler: async (req, res) => sendData(res, await alerts.resolve(id(req), { note: parseInput(note, req.body ?? {}).note }, requestActor(req))),
    },
  ];
  return [{ mount: '/api/v1', routes }];
}

import type { Request, Response } from 'express';
import { z } from 'zod';
import type { Config } from '../../config.js';
import { sendData } from '../../http/envelope.js';
import { requestActor, type RouteDef } from '../../http/routes.js';
import { parseInput } from '../../http/validate.js';
import type { Clock } from '../../infra/clock.js';
import { METRIC_TYPES } from './metrics.catalog.js';
import type { MetricsServices } from './metrics.module.js';
import { eventBody, seriesParams, labelsParam, toEvent, toSeriesQuery } from './metrics.params.js';
import { parseSampleBodies, type SampleBody } from './metrics.samples.js';
import { AppError } from '../../lib/errors.js';
import { SUMMARY_PERIODS, SUMMARY_TYPES } from './metrics.service.js';

const listParams = z.strictObject({ collector: z.string().max(64).optional(), type: z.enum(METRIC_TYPES).optional() });
const snapshotParams = z.strictObject({ collector: z.string().max(64).optional() });
const summaryParams = z.strictObject({ period: z.enum(Object.keys(SUMMARY_PERIODS) as [keyof typeof SUMMARY_PERIODS]).default('24h'), type: z.enum(SUMMARY_TYPES).default('all') });
const jsonParams = z.strictObject({ include_system: z.enum(['true', 'false']).optional(), include_app: z.enum(['true', 'false']).optional() });
const collectorBody = z.strictObject({ enabled: z.boolean().optional(), interval: z.number().int().min(1).max(3_600).optional() });

type Handler = (req: Request, res: Response) => unknown;
const viewer = (path: string, handler: Handler, rateLimit: RouteDef['rateLimit'] = 'standard'): RouteDef => ({ method: 'get', path, access: 'VIEWER', rateLimit, handler });
// Pushes: an operator, or an API key with the metrics scope (an exporter, an agent).
// Their bodies may reach METRICS_BODY_LIMIT: 10,000 samples are about 1.5 MB of JSON.
const push = (path: string, handler: Handler): RouteDef => ({ method: 'post', path, access: 'OPERATOR', scope: 'metrics', rateLimit: 'agent', bodyLimit: 'large', handler });

export function snapshotOf(latest: Awaited<ReturnType<MetricsServices['query']['latest']>>, now: Date) {
  return {
    timestamp: now,
    metrics: latest.map((s) => ({ name: s.name, value: s.value, timestamp: s.timestamp, labels: s.labels, metadata: { collector: s.collector, type: s.type } })),
  };
}

/** Seed 000's metrics API (envelope), seed 004's push and summary (their shapes), the Prometheus and JSON exports. */
export function metricsRoutes(deps: { metrics: MetricsServices; clock: Clock; config: Config }): RouteDef[] {
  const { metrics, clock, config } = deps;
  return [
    viewer('/metrics', async (req, res) => sendData(res, await metrics.query.definitions(parseInput(listParams, req.query, 'query')))),
    viewer('/metrics/snapshot', async (req, res) => {
      const p = parseInput(snapshotParams, req.query, 'query');
      sendData(res, snapshotOf(await metrics.query.latest({ collector: p.collector }), clock.now()));
    }),
    viewer('/metrics/collectors', async (_req, res) => sendData(res, await metrics.collectors.list())),
    {
      method: 'patch',
      path: '/metrics/collectors/:name',
      access: 'ADMIN',
      rateLimit: 'standard',
      handler: async (req, res) => sendData(res, await metrics.collectors.update(String(req.params.name), parseInput(collectorBody, req.body), requestActor(req))),
    },
    viewer('/metrics/stats', async (_req, res) => sendData(res, await metrics.query.stats(await metrics.collectors.activeCount()))),
    viewer('/metrics/summary', async (req, res) => {
      const p = parseInput(summaryParams, req.query, 'query');
      res.json(await metrics.events.summary(p.period, p.type));
    }),
    viewer('/metrics/prometheus', async (_req, res) => {
      res.type('text/plain; version=0.0.4; charset=utf-8').send(await metrics.query.prometheus());
    }),
    viewer('/metrics/json', async (req, res) => {
      const p = parseInput(jsonParams, req.query, 'query');
      const latest = await metrics.query.latest();
      const collectors: Record<string, ReturnType<typeof snapshotOf>['metrics']> = {};
      for (const s of snapshotOf(latest, clock.now()).metrics) {
        const c = s.metadata.collector;
        if (p.include_system === 'false' && c === 'system') continue;
        if (p.include_app === 'false' && c !== 'system') continue;
        (collectors[c] ??= []).push(s);
      }
      sendData(res, { timestamp: clock.now(), collectors });
    }),
    viewer(
      '/metrics/:name',
      async (req, res) => {
        const p = parseInput(seriesParams, req.query, 'query');
        sendData(res, await metrics.query.series(toSeriesQuery(String(req.params.name), p, labelsParam(p.labels), clock.now())));
      },
      'metricsQuery',
    ),
    push('/metrics', async (req, res) => {
      const body: unknown = req.body;
      const batch = Array.isArray(body) ? body : body && typeof body === 'object' && 'samples' in body ? body : undefined;
      if (batch !== undefined) {
        if (!Array.isArray(batch)) {
          const extra = Object.keys(batch).find((k) => k !== 'samples');
          if (extra) throw new AppError('BAD_USER_INPUT', `${extra}: unknown field`, { field: extra });
        }
        const samples = parseSampleBodies(Array.isArray(batch) ? batch : (batch as { samples: unknown }).samples, 'samples');
        res.status(201).json({ success: true, accepted: (await metrics.push(samples, (i) => `samples[${i}]`)).accepted });
        return;
      }
      if (body === undefined || body === null || typeof body !== 'object') throw new AppError('BAD_USER_INPUT', 'body: expected a JSON object or array', { field: 'body' });
      const [one] = parseSampleBodies(body, '') as [SampleBody];
      const at = one.timestamp ?? clock.now();
      const stored = await metrics.push([{ ...one, timestamp: at }], () => '');
      res.status(201).json({ success: true, metric_id: `met_${stored.batchId}`, timestamp: at });
    }),
    push('/metrics/events', async (req, res) => {
      const event = toEvent(parseInput(eventBody, req.body), clock.now(), config);
      await metrics.events.record(event);
      sendData(res, { recorded: true }, 201);
    }),
  ];
}

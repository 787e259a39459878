import { z } from 'zod';
import type { Config } from '../../config.js';
import { defineJob, defineScheduledJob } from '../../infra/jobs.js';
import type { Sql } from '../../infra/sql.js';
import { HEALTH_CHANGED } from '../health/health.events.js';
import { SLA_ALERT } from '../sla/sla.events.js';
import { readAlertingConfig } from './alerts.config.js';
import type { AlertEvaluator } from './alerts.evaluator.js';
import { ALERT_CHANGED } from './alerts.events.js';
import type { Notifier } from './alerts.notifier.js';
import type { AlertsService } from './alerts.service.js';

const outboxRow = z.string().regex(/^\d+$/);

export function alertsJobs(deps: {
  sql: Sql;
  evaluator: AlertEvaluator;
  service: Pick<AlertsService, 'onSlaAlert' | 'onHealthChanged'>;
  notifier: () => Notifier;
  config: Pick<Config, 'NOTIFY_MAX_ATTEMPTS' | 'NOTIFY_BACKOFF_MS'>;
}) {
  return {
    // Every second; a cycle runs when the last one is evaluationInterval old (alerts.evaluator.ts `tick`).
    evaluate: defineScheduledJob({
      name: 'alerts.evaluate',
      queue: 'alerts',
      everyMs: 1_000,
      keep: 20,
      handler: async () => deps.evaluator.tick((await readAlertingConfig(deps.sql)).evaluationInterval),
    }),
    // One job per outbox row: a row relayed twice routes once, and the notices are unique per transition anyway.
    route: defineJob({
      name: 'alerts.route',
      queue: 'alerts',
      payload: ALERT_CHANGED.schema.extend({ eventId: outboxRow }),
      jobId: (p) => `alert-route-${p.eventId}`,
      concurrency: 4,
      handler: (p) => deps.notifier().route(p),
    }),
    slaSignal: defineJob({
      name: 'alerts.sla-signal',
      queue: 'alerts',
      payload: SLA_ALERT.schema.extend({ eventId: outboxRow }),
      jobId: (p) => `alert-sla-${p.eventId}`,
      handler: (p) => deps.service.onSlaAlert(p),
    }),
    healthSignal: defineJob({
      name: 'alerts.health-signal',
      queue: 'alerts',
      payload: HEALTH_CHANGED.schema.extend({ eventId: outboxRow }),
      jobId: (p) => `alert-health-${p.eventId}`,
      handler: (p) => deps.service.onHealthChanged(p),
    }),
    dispatch: defineJob({
      name: 'alerts.dispatch',
      queue: 'notifications',
      payload: z.object({ channelId: z.string().min(1).max(100), noticeIds: z.array(z.string().regex(/^\d+$/)).max(1_000).optional() }),
      // An aggregation window's dispatch is made once (its opening is a Redis SET NX); a single notice's follows from it.
      jobId: (p) => (p.noticeIds ? `dispatch-${p.channelId}-${p.noticeIds.join('-')}` : `dispatch-${p.channelId}-${Date.now()}`),
      handler: (p) => deps.notifier().dispatch(p),
    }),
    deliver: defineJob({
      name: 'alerts.deliver',
      queue: 'notifications',
      payload: z.object({ notificationId: z.uuid() }),
      jobId: (p) => `deliver-${p.notificationId}`,
      concurrency: 32,
      options: {
        attempts: deps.config.NOTIFY_MAX_ATTEMPTS,
        backoff: { type: 'exponential', delay: deps.config.NOTIFY_BACKOFF_MS },
        removeOnComplete: { age: 3_600, count: 10_000 },
        removeOnFail: { age: 7 * 24 * 3_600 },
      },
      handler: (p, { job }) => deps.notifier().deliver(p.notificationId, { made: job.attemptsMade, max: job.opts.attempts ?? deps.config.NOTIFY_MAX_ATTEMPTS }),
    }),
  };
}

import { sqlOf } from '../../infra/sql.js';
import { metricsModule } from '../metrics/metrics.module.js';
import { defineModule } from '../module.js';
import { HEALTH_CHANGED } from '../health/health.events.js';
import { SLA_ALERT } from '../sla/sla.events.js';
import { slaModule } from '../sla/sla.module.js';
import { createAlertEvaluator, type AlertEvaluator } from './alerts.evaluator.js';
import { ALERT_CHANGED } from './alerts.events.js';
import { alertsJobs } from './alerts.jobs.js';
import { createNotifier, type Notifier } from './alerts.notifier.js';
import { AlertsResolver } from './alerts.resolver.js';
import { alertsRoutes } from './alerts.routes.js';
import { createAlertsService, type AlertsService } from './alerts.service.js';

/**
 * Alerts of every source, their rules, lifecycle and notifications. Transitions are written with
 * their `alert:changed` in the outbox; the relay publishes them and starts `alerts.route`, which
 * routes each to its channels through the `notifications` queue. sla:alert (error budgets,
 * backups) arrives through the outbox as `alerts.sla-signal`, health:changed as
 * `alerts.health-signal` (HEALTH alerts). Rules read the metrics store's latest samples.
 */
export const alertsModule = defineModule<{ alerts: AlertsService; evaluator: AlertEvaluator }>({
  name: 'alerts',
  resolvers: [AlertsResolver],
  create({ pool, redis, clock, outbox, jobs, logger, audit, licenses, config, servicesOf }) {
    const { fleet, engine } = servicesOf(slaModule);
    const { metrics } = servicesOf(metricsModule);
    const sql = sqlOf(pool);
    const evaluator = createAlertEvaluator({
      pool,
      clock,
      outbox,
      logger,
      licenses,
      fleet,
      engine,
      metrics: metrics.query,
      staleMs: config.STALE_AFTER_SECONDS * 1_000,
      sampleStaleMs: config.ALERT_SAMPLE_STALE_SECONDS * 1_000,
    });
    // The notifier queues the module's own jobs: built after them.
    let notifier: Notifier | undefined;
    const service = () => alerts;
    const defs = alertsJobs({ sql, evaluator, service: { onSlaAlert: (e) => service().onSlaAlert(e), onHealthChanged: (e) => service().onHealthChanged(e) }, notifier: () => notifier!, config });
    notifier = createNotifier({
      pool,
      redis,
      prefix: config.REDIS_PREFIX,
      clock,
      logger: logger.child({ module: 'alerts' }),
      filePath: config.ALERT_FILE_PATH,
      resolveThroughSilence: config.ALERT_RESOLVE_THROUGH_SILENCE,
      denyPrivate: config.WEBHOOK_DENY_PRIVATE,
      timeoutMs: config.NOTIFY_TIMEOUT_MS,
      enqueueDispatch: (p, delay) => jobs.enqueue(defs.dispatch, p, delay > 0 ? { delay } : undefined),
      enqueueDeliver: (notificationId) => jobs.enqueue(defs.deliver, { notificationId }),
    });
    const alerts = createAlertsService({ pool, clock, outbox, audit, notifier, denyPrivate: config.WEBHOOK_DENY_PRIVATE, filePath: config.ALERT_FILE_PATH });
    outbox.on(ALERT_CHANGED, defs.route, (payload, row) => ({ ...payload, eventId: row.id }));
    outbox.on(SLA_ALERT, defs.slaSignal, (payload, row) => ({ ...payload, eventId: row.id }));
    outbox.on(HEALTH_CHANGED, defs.healthSignal, (payload, row) => ({ ...payload, eventId: row.id }));
    return {
      services: { alerts, evaluator },
      routes: alertsRoutes({ alerts, clock }),
      jobs: Object.values(defs),
      promMetrics: [
        {
          name: 'opsgraph_alerts_firing',
          help: 'Alerts firing now, by severity and source (suppressed ones included).',
          labelNames: ['severity', 'source'],
          collect: async () => (await alerts.firingCounts()).map((c) => ({ labels: { severity: c.severity, source: c.source }, value: c.count })),
        },
      ],
    };
  },
});

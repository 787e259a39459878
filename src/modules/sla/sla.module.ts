import { defineModule } from '../module.js';
import { createSlaAlerts } from './sla.alerts.js';
import { createSlaEngine, type SlaEngine } from './sla.engine.js';
import { createStatusIngest } from './sla.ingest.js';
import { IncidentLinks, ServiceLinks, SlaGroupLinks } from './sla.links.js';
import { slaLoaders } from './sla.loaders.js';
import { slaRoutes } from './sla.routes.js';
import { fleetJobs } from './sla.jobs.js';
import { createRollups, type Rollups } from './sla.rollups.js';
import { SlaResolver } from './sla.resolver.js';
import { createFleetService, type FleetService } from './sla.fleet.js';
import type { LicenseGuard } from '../licenses/licenses.service.js';

/** Nodes, SLA groups, services and their history, incidents and SLA numbers; the operator agents' REST API (sla.routes.ts). */
export const slaModule = defineModule<{ fleet: FleetService; engine: SlaEngine; rollups: Rollups; licenses: LicenseGuard }>({
  name: 'sla',
  resolvers: [SlaResolver, ServiceLinks, SlaGroupLinks, IncidentLinks],
  create({ db, pool, clock, events, outbox, config, logger, audit, licenses }) {
    const staleMs = config.STALE_AFTER_SECONDS * 1_000;
    const fleet = createFleetService({ db, pool, clock, events, logger, audit, staleMs, licenses });
    const ingest = createStatusIngest({ pool, clock, events, outbox, logger, audit, staleMs, licenses });
    // After the replay window, staleness and a sweep, a day's history is final.
    const frozenMs = config.REPORT_REPLAY_HOURS * 3_600_000 + staleMs + config.FLEET_SWEEP_SECONDS * 1_000 + 60_000;
    const engine = createSlaEngine({ db, pool, clock, staleMs, frozenMs });
    const alerts = createSlaAlerts({ engine, pool, clock, outbox, logger, licenses });
    const rollups = createRollups({ pool, clock, logger, staleMs });
    return {
      services: { fleet, engine, rollups, licenses },
      routes: [{ mount: '/api/v1', routes: slaRoutes({ fleet, ingest, clock, config }) }],
      jobs: Object.values(fleetJobs(fleet, alerts, rollups, config)),
      loaders: slaLoaders(fleet, engine),
    };
  },
});

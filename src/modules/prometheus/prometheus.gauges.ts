import type { PromGauge } from '../../infra/prometheus.js';
import { SERVICE_STATUSES } from '../../lib/status-history.js';
import type { FleetService } from '../sla/sla.fleet.js';

/**
 * The fleet on `GET /metrics`: services by status (every status, zeros included, so a status that
 * empties is 0 rather than gone) and open incidents, as the SLA module counts them. Both gauges of
 * one scrape share one reading.
 */
export function fleetGauges(fleet: Pick<FleetService, 'statusCounts'>): PromGauge[] {
  let reading: ReturnType<FleetService['statusCounts']> | undefined;
  const counts = () => (reading ??= fleet.statusCounts().finally(() => (reading = undefined)));
  return [
    {
      name: 'opsgraph_services',
      help: 'Services by their current status.',
      labelNames: ['status'],
      collect: async () => {
        const { services } = await counts();
        return SERVICE_STATUSES.map((status) => ({ labels: { status }, value: services.find((s) => s.status === status)?.count ?? 0 }));
      },
    },
    {
      name: 'opsgraph_incidents_open',
      help: 'Incidents open now (a service down since it went down).',
      collect: async () => [{ value: (await counts()).openIncidents }],
    },
  ];
}

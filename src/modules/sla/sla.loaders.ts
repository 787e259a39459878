import { alignTo, defineLoader, provideLoader, type LoaderProvider } from '../../graphql/loaders.js';
import type { PeriodStatus } from '../../lib/sla.js';
import type { SlaEngine } from './sla.engine.js';
import type { IncidentRecord } from './sla.incidents.js';
import type { ServiceRecord } from './sla.records.js';
import type { FleetService, GroupIncidentsKey, GroupRecord, NodeRecord } from './sla.fleet.js';

/*
 * The fleet's batched reads: what other types link to (Ticket.service), and what the fleet's own
 * types link to each other through. Part of the module's contract, like its events.
 */

export const serviceById = defineLoader<string, ServiceRecord | null>('sla.serviceById');
export const nodeById = defineLoader<string, NodeRecord | null>('sla.nodeById');
/** A group with its services, as `slaGroup(id)` gives it. */
export const slaGroupById = defineLoader<string, GroupRecord | null>('sla.slaGroupById');
/** The month status and 30-day uptime of a group as loaded (its members and target). */
export const slaGroupNumbers = defineLoader<Pick<GroupRecord, 'id' | 'targetUptime' | 'services'>, { status: PeriodStatus; currentUptime: number | null }>(
  'sla.slaGroupNumbers',
  (g) => g.id,
);
export const groupIncidents = defineLoader<GroupIncidentsKey, IncidentRecord[]>('sla.groupIncidents', (k) => `${k.groupId}|${k.open ?? ''}|${k.limit}`);

export function slaLoaders(fleet: FleetService, engine: SlaEngine): LoaderProvider[] {
  return [
    provideLoader(serviceById, async (ids) => alignTo(ids, await fleet.servicesByIds(ids), null)),
    provideLoader(nodeById, async (ids) => alignTo(ids, await fleet.nodesByIds(ids), null)),
    provideLoader(slaGroupById, async (ids) => alignTo(ids, new Map((await fleet.groups([...ids])).map((g) => [g.id, g])), null)),
    provideLoader(slaGroupNumbers, async (groups) => {
      const numbers = await engine.groupNumbers([...groups]);
      return groups.map((g) => numbers.get(g.id)!);
    }),
    provideLoader(groupIncidents, (keys) => fleet.groupIncidents(keys)),
  ];
}

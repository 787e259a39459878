import { Arg, Authorized, ID, Query, Resolver, Root, Subscription } from 'type-graphql';
import { PageInput } from '../../graphql/pagination.js';
import type { Page } from '../../lib/pagination.js';
import { STATUS_CHANGED, type StatusChangedEvent } from './sla.ingest.js';
import type { ServiceRecord } from './sla.records.js';
import type { FleetService, GroupRecord, NodeRecord } from './sla.service.js';
import { NodeType, ServiceFilter, ServicePage, ServiceStatusChangeType, ServiceType, SlaGroupType } from './sla.types.js';

const date = (v: Date | string | null) => (v === null ? null : new Date(v));

/** Events travel as JSON: dates come back as strings. */
function revive(s: ServiceRecord): ServiceRecord {
  return { ...s, lastSeenAt: date(s.lastSeenAt), backupStatus: { ...s.backupStatus, lastBackupAt: date(s.backupStatus.lastBackupAt) } };
}

const withEngineFields = (g: GroupRecord): SlaGroupType => ({ ...g, status: null, currentUptime: null });

@Resolver()
export class SlaResolver {
  private readonly fleet: FleetService;

  constructor(services: { fleet: FleetService }) {
    this.fleet = services.fleet;
  }

  @Authorized('VIEWER')
  @Query(() => [SlaGroupType], { description: 'Every SLA group with its services and their backup status.' })
  async slaGroups(): Promise<SlaGroupType[]> {
    return (await this.fleet.groups()).map(withEngineFields);
  }

  @Authorized('VIEWER')
  @Query(() => SlaGroupType)
  async slaGroup(@Arg('id', () => ID) id: string): Promise<SlaGroupType> {
    return withEngineFields(await this.fleet.group(id));
  }

  @Authorized('VIEWER')
  @Query(() => ServicePage)
  services(
    @Arg('filter', () => ServiceFilter, { nullable: true }) filter?: ServiceFilter,
    @Arg('page', () => PageInput, { nullable: true }) page?: PageInput,
  ): Promise<Page<ServiceRecord>> {
    return this.fleet.services(filter, page);
  }

  @Authorized('VIEWER')
  @Query(() => ServiceType)
  service(@Arg('id', () => ID) id: string): Promise<ServiceRecord> {
    return this.fleet.service(id);
  }

  @Authorized('VIEWER')
  @Query(() => [NodeType], { description: 'Agents (clusters) that have reported or sent a heartbeat.' })
  nodes(): Promise<NodeRecord[]> {
    return this.fleet.nodes();
  }

  @Authorized('VIEWER')
  @Subscription(() => ServiceStatusChangeType, {
    topics: STATUS_CHANGED,
    filter: ({ payload, args }: { payload: StatusChangedEvent; args: { nodeId?: string | null; slaGroupId?: string | null } }) =>
      (!args.nodeId || payload.service.nodeId === args.nodeId) && (!args.slaGroupId || payload.service.slaGroupId === args.slaGroupId),
    description: "A service's current status changed (a real change: not every sync, not a late report that leaves the present as it was).",
  })
  serviceStatusChanged(
    @Root() event: StatusChangedEvent,
    @Arg('nodeId', () => String, { nullable: true }) _nodeId?: string | null,
    @Arg('slaGroupId', () => ID, { nullable: true }) _slaGroupId?: string | null,
  ): ServiceStatusChangeType {
    return { service: revive(event.service) as ServiceType, previousStatus: event.previousStatus, status: event.status, observedAt: new Date(event.observedAt) };
  }
}


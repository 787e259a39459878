import { Arg, Args, Authorized, Ctx, ID, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.js';
import { actorOf } from '../../auth/actor.js';
import { PageInput } from '../../graphql/pagination.js';
import type { Page } from '../../lib/pagination.js';
import { SLA_ALERT, SLA_INCIDENT, STATUS_CHANGED, type IncidentEvent, type SlaAlertEvent, type StatusChangedEvent } from './sla.events.js';
import type { ServiceRecord } from './sla.records.js';
import type { FleetService, GroupRecord, NodeRecord } from './sla.fleet.js';
import type { SlaEngine, SlaPeriod } from './sla.engine.js';
import type { LicenseGuard } from '../licenses/licenses.service.js';
import type { IncidentRecord } from './sla.incidents.js';
import {
  IncidentAction,
  IncidentFilter,
  IncidentPage,
  NodeType,
  ServiceFilter,
  ServicePage,
  ServiceStatusChangeType,
  ServiceType,
  SlaDashboardStatsType,
  SlaGroupType,
  SlaPeriodType,
  SlaTrendFilter,
  SlaAlertType,
  SlaIncidentEventType,
  SnapshotTrendArgs,
  UpdateSlaGroupInput,
} from './sla.types.js';


@Resolver()
export class SlaResolver {
  private readonly fleet: FleetService;
  private readonly engine: SlaEngine;
  private readonly licenses: LicenseGuard;

  constructor(services: { fleet: FleetService; engine: SlaEngine; licenses: LicenseGuard }) {
    this.fleet = services.fleet;
    this.engine = services.engine;
    this.licenses = services.licenses;
  }

  // A group's month status and 30-day uptime are computed only when the query asks for them, for
  // every group of the answer in one pass (SlaGroupLinks): listing the fleet does not pay for SLA
  // arithmetic it does not show.
  @Authorized('VIEWER')
  @Query(() => [SlaGroupType], { description: 'Every SLA group with its services, their backup status, the month status and the 30-day uptime.' })
  slaGroups(): Promise<GroupRecord[]> {
    return this.fleet.groups();
  }

  @Authorized('VIEWER')
  @Query(() => SlaGroupType)
  slaGroup(@Arg('id', () => ID) id: string): Promise<GroupRecord> {
    return this.fleet.group(id);
  }

  @Authorized('ADMIN')
  @Mutation(() => SlaGroupType, { description: 'Changing a target re-evaluates statuses from the same history; nothing is rewritten.' })
  updateSlaGroup(@Arg('id', () => ID) id: string, @Arg('input') input: UpdateSlaGroupInput, @Ctx() ctx: GraphQLContext): Promise<GroupRecord> {
    return this.fleet.updateGroup(id, input, actorOf(ctx));
  }

  @Authorized('ADMIN')
  @Mutation(() => Boolean, { description: 'Removes an SLA group that no service belongs to (CONFLICT while one does), with its rollups.' })
  deleteSlaGroup(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    return this.fleet.deleteGroup(id, actorOf(ctx));
  }

  @Authorized('VIEWER')
  @Query(() => [SlaPeriodType], { description: 'Every 5-minute bucket (UTC) of the last hoursBack hours, oldest first, the current one included. Plugin sla.' })
  async slaSnapshotTrend(@Args() { serviceId, hoursBack }: SnapshotTrendArgs): Promise<SlaPeriod[]> {
    await this.licenses.require('sla');
    return this.engine.snapshotTrend(serviceId, hoursBack);
  }

  @Authorized('VIEWER')
  @Query(() => [SlaPeriodType], { description: 'Daily or monthly periods from the start of the period monthsBack months ago to now: one service, one group, or all services in groups. Plugin sla.' })
  async slaTrendData(@Arg('filter') filter: SlaTrendFilter): Promise<SlaPeriod[]> {
    await this.licenses.require('sla');
    return this.engine.trendData(filter);
  }

  @Authorized('VIEWER')
  @Query(() => IncidentPage, { description: 'Incidents, newest first.' })
  incidents(
    @Arg('filter', () => IncidentFilter, { nullable: true }) filter?: IncidentFilter,
    @Arg('page', () => PageInput, { nullable: true }) page?: PageInput,
  ): Promise<Page<IncidentRecord>> {
    return this.fleet.incidents(filter, page);
  }

  @Authorized('VIEWER')
  @Subscription(() => SlaIncidentEventType, { topics: SLA_INCIDENT.type, description: 'An incident opened or closed (sla:incident).' })
  slaIncident(@Root() event: IncidentEvent): SlaIncidentEventType {
    return { action: event.action as IncidentAction, incident: event.incident };
  }

  @Authorized('VIEWER')
  @Subscription(() => SlaAlertType, { topics: SLA_ALERT.type, description: 'Error-budget and backup alerts (sla:alert).' })
  slaAlert(@Root() event: SlaAlertEvent): SlaAlertType {
    return event;
  }

  @Authorized('VIEWER')
  @Query(() => SlaDashboardStatsType, { description: 'Plugin sla.' })
  async slaDashboardStats(): Promise<SlaDashboardStatsType> {
    await this.licenses.require('sla');
    return this.engine.dashboardStats();
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
    topics: STATUS_CHANGED.type,
    filter: ({ payload, args }: { payload: StatusChangedEvent; args: { nodeId?: string | null; slaGroupId?: string | null } }) =>
      (!args.nodeId || payload.service.nodeId === args.nodeId) && (!args.slaGroupId || payload.service.slaGroupId === args.slaGroupId),
    description: "A service's current status changed (a real change: not every sync, not a late report that leaves the present as it was).",
  })
  serviceStatusChanged(
    @Root() event: StatusChangedEvent,
    @Arg('nodeId', () => String, { nullable: true }) _nodeId?: string | null,
    @Arg('slaGroupId', () => ID, { nullable: true }) _slaGroupId?: string | null,
  ): ServiceStatusChangeType {
    return { service: event.service as ServiceType, previousStatus: event.previousStatus, status: event.status, observedAt: event.observedAt };
  }
}


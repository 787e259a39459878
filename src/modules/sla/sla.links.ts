import { Args, Ctx, FieldResolver, Float, Resolver, Root } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.js';
import { DEFAULT_LIMIT } from '../../lib/pagination.js';
import type { IncidentRecord } from './sla.incidents.js';
import { groupIncidents, nodeById, serviceById, slaGroupById, slaGroupNumbers } from './sla.loaders.js';
import type { ServiceRecord } from './sla.records.js';
import type { GroupRecord, NodeRecord } from './sla.fleet.js';
import { IncidentType, NodeType, ServiceType, SlaGroupIncidentsArgs, SlaGroupType, SlaStatus } from './sla.types.js';

/*
 * Links between the fleet's types. Each goes through a loader (sla.loaders.ts), so a list of any
 * length costs one read per link it asks for. Who may follow them was decided at the root field
 * that returned the parent.
 */

@Resolver(() => ServiceType)
export class ServiceLinks {
  @FieldResolver(() => SlaGroupType, { nullable: true, description: 'The SLA group the service belongs to; null when it belongs to none.' })
  slaGroup(@Root() service: ServiceRecord, @Ctx() ctx: GraphQLContext): Promise<GroupRecord | null> | null {
    return service.slaGroupId ? ctx.loaders.load(slaGroupById, service.slaGroupId) : null;
  }

  @FieldResolver(() => NodeType, { description: 'The node (cluster) whose agent reports the service.' })
  async node(@Root() service: ServiceRecord, @Ctx() ctx: GraphQLContext): Promise<NodeRecord> {
    const node = await ctx.loaders.load(nodeById, service.nodeId);
    // Services are deleted with their node (cascade): a service always has one.
    if (!node) throw new Error(`service ${service.id} has no node ${service.nodeId}`);
    return node;
  }
}

@Resolver(() => SlaGroupType)
export class SlaGroupLinks {
  @FieldResolver(() => SlaStatus, { description: 'Error-budget status of the current UTC month.' })
  async status(@Root() group: GroupRecord, @Ctx() ctx: GraphQLContext): Promise<SlaStatus> {
    return (await ctx.loaders.load(slaGroupNumbers, group)).status as SlaStatus;
  }

  @FieldResolver(() => Float, { nullable: true, description: 'Uptime % over the last 30 days; null without data.' })
  async currentUptime(@Root() group: GroupRecord, @Ctx() ctx: GraphQLContext): Promise<number | null> {
    return (await ctx.loaders.load(slaGroupNumbers, group)).currentUptime;
  }

  @FieldResolver(() => [IncidentType], {
    description: "Incidents of the group's services, newest first (by startedAt), at most `limit`; all of them with incidents(filter: { slaGroupId }, page).",
  })
  incidents(@Root() group: GroupRecord, @Args() { open, limit }: SlaGroupIncidentsArgs, @Ctx() ctx: GraphQLContext): Promise<IncidentRecord[]> {
    return ctx.loaders.load(groupIncidents, { groupId: group.id, open: open ?? null, limit: limit ?? DEFAULT_LIMIT });
  }
}

@Resolver(() => IncidentType)
export class IncidentLinks {
  @FieldResolver(() => ServiceType, { description: 'The service that went down.' })
  async service(@Root() incident: IncidentRecord, @Ctx() ctx: GraphQLContext): Promise<ServiceRecord> {
    const service = await ctx.loaders.load(serviceById, incident.serviceId);
    // Incidents are deleted with their service (cascade).
    if (!service) throw new Error(`incident ${incident.id} has no service ${incident.serviceId}`);
    return service;
  }
}

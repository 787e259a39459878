import { IsIn, IsOptional, Max, MaxLength, Min, MinLength } from 'class-validator';
import { ArgsType, Field, Float, ID, InputType, Int, registerEnumType } from 'type-graphql';
import { TIERS } from '../../lib/sla-targets.js';
import { OutputType } from '../../graphql/output-type.js';
import { Paginated } from '../../graphql/pagination.js';
import { DEFAULT_LIMIT, MAX_LIMIT } from '../../lib/pagination.js';
import { SERVICE_STATUSES, type ServiceStatus } from '../../lib/status-history.js';

export const ServiceStatusEnum = Object.fromEntries(SERVICE_STATUSES.map((s) => [s, s])) as { [S in ServiceStatus]: S };
registerEnumType(ServiceStatusEnum, {
  name: 'ServiceStatus',
  description: 'Up: OPERATIONAL, DEGRADED. Down: PARTIAL_OUTAGE, MAJOR_OUTAGE. MAINTENANCE and UNKNOWN count as neither.',
});

const SEARCH_MAX = 255;

export enum NodeStatus {
  ONLINE = 'ONLINE',
  OFFLINE = 'OFFLINE',
}
registerEnumType(NodeStatus, {
  name: 'NodeStatus',
  description: 'ONLINE while the newer of lastHeartbeatAt and lastReportAt is at most STALE_AFTER_SECONDS old, else OFFLINE.',
});

export enum SlaStatus {
  MET = 'MET',
  AT_RISK = 'AT_RISK',
  BREACHED = 'BREACHED',
  NO_DATA = 'NO_DATA',
}
registerEnumType(SlaStatus, { name: 'SlaStatus', description: 'BREACHED above the error budget, AT_RISK from 75 % of it, NO_DATA without up or down time.' });

@OutputType('BackupStatus')
export class BackupStatusType {
  @Field() backupExpected!: boolean;
  @Field(() => Date, { nullable: true, description: 'Completion time of the latest report, whatever its outcome.' }) lastBackupAt!: Date | null;
  @Field(() => String, { nullable: true, description: 'success, failed or partial: the latest report.' }) lastBackupStatus!: string | null;
  @Field(() => Int) backupMaxAgeDays!: number;
  @Field({ description: 'Expected, and no successful backup within backupMaxAgeDays, or (with maxVerifiedAgeDays) no verified backup completed within that.' }) backupOverdue!: boolean;
  @Field(() => Date, { nullable: true, description: 'Completion time of the newest successful backup (report or server run).' }) lastSuccessAt!: Date | null;
  @Field(() => Date, { nullable: true, description: 'When a backup of this service last passed verification.' }) lastVerifiedAt!: Date | null;
  @Field(() => Int, { nullable: true, description: 'A verified backup must have completed within this many days, or backups are overdue.' }) maxVerifiedAgeDays!: number | null;
}

@OutputType('Service')
export class ServiceType {
  @Field(() => ID) id!: string;
  @Field() serviceName!: string;
  @Field(() => String, { nullable: true }) displayName!: string | null;
  @Field() nodeId!: string;
  @Field(() => String, { nullable: true }) namespace!: string | null;
  @Field(() => ServiceStatusEnum) status!: ServiceStatus;
  @Field(() => Int, { nullable: true }) replicas!: number | null;
  @Field(() => Int, { nullable: true }) readyReplicas!: number | null;
  @Field(() => String, { nullable: true }) workloadType!: string | null;
  @Field(() => String, { nullable: true }) criticality!: string | null;
  @Field(() => Date, { nullable: true, description: 'observedAt of the newest report.' }) lastSeenAt!: Date | null;
  @Field(() => ID, { nullable: true }) slaGroupId!: string | null;
  @Field(() => BackupStatusType) backupStatus!: BackupStatusType;
}

/** `status`, `currentUptime` and `incidents` are computed or read only when asked for (sla.links.ts). */
@OutputType('SlaGroup')
export class SlaGroupType {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field() displayName!: string;
  @Field({ description: 'critical, high, standard or low.' }) tier!: string;
  @Field(() => Float, { description: "The group's own target, else its tier's (critical 99.95, high 99.9, standard 99.5, low 99.0)." }) targetUptime!: number;
  @Field(() => [ServiceType]) services!: ServiceType[];
}

@ArgsType()
export class SlaGroupIncidentsArgs {
  @Field(() => Boolean, { nullable: true, description: 'Only open (true) or only closed (false) incidents; all when left out.' })
  open?: boolean | null;

  @Field(() => Int, { nullable: true, defaultValue: DEFAULT_LIMIT, description: `At most this many (1 to ${MAX_LIMIT}).` })
  @IsOptional()
  @Min(1)
  @Max(MAX_LIMIT)
  limit?: number | null;
}

@OutputType('Node')
export class NodeType {
  @Field(() => ID) id!: string;
  @Field(() => String, { nullable: true }) operatorVersion!: string | null;
  @Field(() => Date, { nullable: true, description: 'When the last heartbeat arrived.' }) lastHeartbeatAt!: Date | null;
  @Field(() => Date, { nullable: true, description: 'observedAt of the newest status report from this node; a replayed older report does not move it back.' })
  lastReportAt!: Date | null;
  @Field(() => NodeStatus) status!: NodeStatus;
  @Field(() => Int) watchedServices!: number;
  @Field(() => Int) healthyServices!: number;
  @Field(() => Int) unhealthyServices!: number;
}

@InputType()
export class ServiceFilter {
  @Field({ nullable: true }) nodeId?: string;
  @Field(() => ID, { nullable: true }) slaGroupId?: string;
  @Field(() => ServiceStatusEnum, { nullable: true }) status?: ServiceStatus;
  @Field({ nullable: true }) namespace?: string;
  @Field({ nullable: true, description: 'The service name, exactly.' }) @IsOptional() @MaxLength(SEARCH_MAX) name?: string;
  @Field({ nullable: true, description: 'Case-insensitive part of the name, the display name or the namespace.' }) @IsOptional() @MaxLength(SEARCH_MAX) search?: string;
}

export const ServicePage = Paginated(ServiceType, 'ServicePage');

@OutputType('ServiceStatusChange')
export class ServiceStatusChangeType {
  @Field(() => ServiceType) service!: ServiceType;
  @Field(() => ServiceStatusEnum, { nullable: true, description: 'null for a service seen for the first time.' }) previousStatus!: ServiceStatus | null;
  @Field(() => ServiceStatusEnum) status!: ServiceStatus;
  @Field() observedAt!: Date;
}

@OutputType('SlaPeriod', { description: 'One period (5 minutes, a UTC day or a UTC month): uptime, downtime, incidents and budget status.' })
export class SlaPeriodType {
  @Field({ description: 'YYYY-MM-DDTHH:mm (5 minutes), YYYY-MM-DD (day) or YYYY-MM (month), UTC.' }) periodKey!: string;
  @Field() periodStart!: Date;
  @Field(() => Float, { nullable: true, description: 'Uptime % of the period so far; null without up or down time.' }) actualValue!: number | null;
  @Field(() => Float) targetValue!: number;
  @Field(() => Int, { description: 'Incidents that started in the period.' }) incidentCount!: number;
  @Field(() => Float) downtimeMinutes!: number;
  @Field(() => SlaStatus) status!: SlaStatus;
}

@InputType()
export class SlaTrendFilter {
  @Field({ description: 'DAILY or MONTHLY.' }) @IsIn(['DAILY', 'MONTHLY']) periodType!: 'DAILY' | 'MONTHLY';
  @Field(() => Int) @Min(0) @Max(36) monthsBack!: number;
  @Field(() => ID, { nullable: true }) serviceId?: string;
  @Field(() => ID, { nullable: true }) slaGroupId?: string;
}

@ArgsType()
export class SnapshotTrendArgs {
  @Field(() => ID) serviceId!: string;
  @Field(() => Int) @Min(1) @Max(168) hoursBack!: number;
}

@OutputType('SlaDashboardStats')
export class SlaDashboardStatsType {
  @Field(() => Int) totalServices!: number;
  @Field(() => Int, { description: 'Services that belong to an SLA group.' }) servicesWithSla!: number;
  @Field(() => Int) metCount!: number;
  @Field(() => Int) atRiskCount!: number;
  @Field(() => Int) breachedCount!: number;
  @Field(() => Float, { nullable: true, description: 'Mean 30-day uptime of the services with SLA that have data.' }) averageUptime!: number | null;
}

@InputType()
export class UpdateSlaGroupInput {
  @Field({ nullable: true }) @IsOptional() @MinLength(1) @MaxLength(255) displayName?: string;
  @Field({ nullable: true }) @IsOptional() @IsIn(TIERS) tier?: string;
  @Field(() => Float, { nullable: true, description: 'Percent, e.g. 99.95; null keeps the tier default.' }) @IsOptional() @Min(0) @Max(100) targetUptime?: number;
}

@OutputType('Incident', { description: 'A service went from up (or no data) to down; it ends at the next up report.' })
export class IncidentType {
  @Field(() => ID) id!: string;
  @Field(() => ID) serviceId!: string;
  @Field(() => ID, { nullable: true }) slaGroupId!: string | null;
  @Field() startedAt!: Date;
  @Field(() => Date, { nullable: true, description: 'null while the incident is open.' }) endedAt!: Date | null;
}

@InputType()
export class IncidentFilter {
  @Field(() => ID, { nullable: true }) serviceId?: string;
  @Field(() => ID, { nullable: true }) slaGroupId?: string;
  @Field({ nullable: true, description: 'Only open (true) or only closed (false) incidents.' }) open?: boolean;
}

export const IncidentPage = Paginated(IncidentType, 'IncidentPage');

export enum IncidentAction {
  OPENED = 'OPENED',
  CLOSED = 'CLOSED',
}
registerEnumType(IncidentAction, { name: 'IncidentAction' });

@OutputType('SlaIncidentEvent')
export class SlaIncidentEventType {
  @Field(() => IncidentType) incident!: IncidentType;
  @Field(() => IncidentAction) action!: IncidentAction;
}

@OutputType('SlaAlert', { description: 'A service or group entered AT_RISK or BREACHED this month, or a backup episode started (OVERDUE) or ended (RESOLVED).' })
export class SlaAlertType {
  @Field({ description: 'SERVICE, GROUP or BACKUP.' }) scope!: string;
  @Field(() => ID, { nullable: true }) serviceId!: string | null;
  @Field(() => ID, { nullable: true }) slaGroupId!: string | null;
  @Field() status!: string;
  @Field() message!: string;
  @Field() at!: Date;
}

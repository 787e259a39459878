import { Field, Float, ID, InputType, Int, registerEnumType } from 'type-graphql';
import { OutputType } from '../../graphql/output-type.js';
import { Paginated } from '../../graphql/pagination.js';
import { SERVICE_STATUSES, type ServiceStatus } from '../../lib/status-history.js';

export const ServiceStatusEnum = Object.fromEntries(SERVICE_STATUSES.map((s) => [s, s])) as { [S in ServiceStatus]: S };
registerEnumType(ServiceStatusEnum, {
  name: 'ServiceStatus',
  description: 'Up: OPERATIONAL, DEGRADED. Down: PARTIAL_OUTAGE, MAJOR_OUTAGE. MAINTENANCE and UNKNOWN count as neither.',
});

export enum NodeStatus {
  ONLINE = 'ONLINE',
  OFFLINE = 'OFFLINE',
}
registerEnumType(NodeStatus, { name: 'NodeStatus', description: 'ONLINE while the agent has reported or sent a heartbeat within the stale limit.' });

@OutputType('BackupStatus')
export class BackupStatusType {
  @Field() backupExpected!: boolean;
  @Field(() => Date, { nullable: true, description: 'Completion time of the latest report, whatever its outcome.' }) lastBackupAt!: Date | null;
  @Field(() => String, { nullable: true, description: 'success, failed or partial: the latest report.' }) lastBackupStatus!: string | null;
  @Field(() => Int) backupMaxAgeDays!: number;
  @Field({ description: 'Expected, and no successful backup ever or none within backupMaxAgeDays.' }) backupOverdue!: boolean;
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

@OutputType('SlaGroup')
export class SlaGroupType {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field() displayName!: string;
  @Field({ description: 'critical, high, standard or low.' }) tier!: string;
  @Field(() => Float, { description: "The group's own target, else its tier's (critical 99.95, high 99.9, standard 99.5, low 99.0)." }) targetUptime!: number;
  @Field(() => String, { nullable: true, description: 'Period status of the current UTC month (MET, AT_RISK, BREACHED, NO_DATA), computed by the SLA engine; null until it has.' })
  status!: string | null;
  @Field(() => Float, { nullable: true, description: 'Uptime % over the last 30 days, computed by the SLA engine; null until it has.' })
  currentUptime!: number | null;
  @Field(() => [ServiceType]) services!: ServiceType[];
}

@OutputType('Node')
export class NodeType {
  @Field(() => ID) id!: string;
  @Field(() => String, { nullable: true }) operatorVersion!: string | null;
  @Field(() => Date, { nullable: true }) lastHeartbeatAt!: Date | null;
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
}

export const ServicePage = Paginated(ServiceType, 'ServicePage');

@OutputType('ServiceStatusChange')
export class ServiceStatusChangeType {
  @Field(() => ServiceType) service!: ServiceType;
  @Field(() => ServiceStatusEnum, { nullable: true, description: 'null for a service seen for the first time.' }) previousStatus!: ServiceStatus | null;
  @Field(() => ServiceStatusEnum) status!: ServiceStatus;
  @Field() observedAt!: Date;
}

import type { Service } from '../../generated/prisma/client.js';
import { z } from 'zod';
import type { ServiceStatus } from '../../lib/status-history.js';

/** A service as GraphQL, REST and events show it: one shape, from one mapping. */
export interface ServiceRecord {
  id: string;
  serviceName: string;
  displayName: string | null;
  nodeId: string;
  namespace: string | null;
  status: ServiceStatus;
  replicas: number | null;
  readyReplicas: number | null;
  workloadType: string | null;
  criticality: string | null;
  lastSeenAt: Date | null;
  slaGroupId: string | null;
  backupStatus: {
    backupExpected: boolean;
    lastBackupAt: Date | null;
    lastBackupStatus: 'success' | 'failed' | 'partial' | null;
    backupMaxAgeDays: number;
    backupOverdue: boolean;
    lastSuccessAt: Date | null;
    lastVerifiedAt: Date | null;
    maxVerifiedAgeDays: number | null;
  };
}

/** The columns of "Service" that make a ServiceRecord, as raw SQL selects them. */
export const SERVICE_COLUMNS = [
  'id',
  '"nodeId"',
  'name',
  '"displayName"',
  'namespace',
  'status',
  'replicas',
  '"readyReplicas"',
  '"workloadType"',
  'criticality',
  '"lastSeenAt"',
  '"slaGroupId"',
  '"backupExpected"',
  '"lastBackupAt"',
  '"lastBackupStatus"',
  '"backupMaxAgeDays"',
  '"backupOverdue"',
  '"lastSuccessfulBackupAt"',
  '"lastVerifiedAt"',
  '"maxVerifiedAgeDays"',
] as const;

/** The columns above, as the database gives them. */
export type ServiceRow = Pick<
  Service,
  | 'id'
  | 'nodeId'
  | 'name'
  | 'displayName'
  | 'namespace'
  | 'status'
  | 'replicas'
  | 'readyReplicas'
  | 'workloadType'
  | 'criticality'
  | 'lastSeenAt'
  | 'slaGroupId'
  | 'backupExpected'
  | 'lastBackupAt'
  | 'lastBackupStatus'
  | 'backupMaxAgeDays'
  | 'backupOverdue'
  | 'lastSuccessfulBackupAt'
  | 'lastVerifiedAt'
  | 'maxVerifiedAgeDays'
>;

export function toServiceRecord(r: ServiceRow): ServiceRecord {
  return {
    id: r.id,
    serviceName: r.name,
    displayName: r.displayName,
    nodeId: r.nodeId,
    namespace: r.namespace,
    status: r.status,
    replicas: r.replicas,
    readyReplicas: r.readyReplicas,
    workloadType: r.workloadType,
    criticality: r.criticality,
    lastSeenAt: r.lastSeenAt,
    slaGroupId: r.slaGroupId,
    backupStatus: {
      backupExpected: r.backupExpected,
      lastBackupAt: r.lastBackupAt,
      lastBackupStatus: r.lastBackupStatus,
      backupMaxAgeDays: r.backupMaxAgeDays,
      backupOverdue: r.backupOverdue,
      lastSuccessAt: r.lastSuccessfulBackupAt,
      lastVerifiedAt: r.lastVerifiedAt,
      maxVerifiedAgeDays: r.maxVerifiedAgeDays,
    },
  };
}

/**
 * backupOverdue as api.md defines it, in SQL over a "Service" row, for the instant in parameter `now`:
 * no successful backup within backupMaxAgeDays or, when the service asks for one, no verified backup
 * completed within maxVerifiedAgeDays. `lastSuccess` may name another expression for the last success
 * (a report computing the row's new value).
 */
export const backupOverdueSql = (now: string, lastSuccess = '"lastSuccessfulBackupAt"', lastVerified = '"lastVerifiedBackupAt"') =>
  `("backupExpected" AND (${lastSuccess} IS NULL OR ${lastSuccess} < ${now}::timestamptz - make_interval(days => "backupMaxAgeDays")
     OR ("maxVerifiedAgeDays" IS NOT NULL AND (${lastVerified} IS NULL OR ${lastVerified} < ${now}::timestamptz - make_interval(days => "maxVerifiedAgeDays")))))`;

/** A service's identity as agents and backup jobs name it: its node (cluster) and its name there. */
export const nodeIdField = z.string().trim().min(1).max(255);
export const serviceNameField = z.string().trim().min(1).max(253);

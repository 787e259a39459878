/** Simulated operator agents for the ingest bench: what they report, and in which order. */

/** The first admin the bench server is started with; the bench logs in as it for GraphQL. */
export const BENCH_ADMIN = { email: 'admin@opsgraph.bench', password: 'ingest-bench-admin-password' };

const STATUSES = ['OPERATIONAL', 'DEGRADED', 'PARTIAL_OUTAGE', 'MAJOR_OUTAGE'] as const;
type Status = (typeof STATUSES)[number];

export interface ServiceReport {
  name: string;
  status: Status;
  replicas: number;
  readyReplicas: number;
  namespace: string;
  workloadType: string;
  slaGroup?: string;
}

export interface StatusReport {
  nodeId: string;
  operatorVersion: string;
  observedAt: string;
  services: ServiceReport[];
  slaGroups?: { name: string; displayName?: string; tier?: string }[];
}

interface AgentNode {
  index: number;
  /** Bumped when a node has replayed up to now; it then comes back as a new node from 20 h ago. */
  at: number;
  services: ServiceReport[];
}

const readyFor = (status: Status, replicas: number) => (status === 'OPERATIONAL' ? replicas : status === 'DEGRADED' ? replicas - 1 : 0);

export function serviceName(i: number): string {
  return `svc-${String(i).padStart(3, '0')}`;
}

/**
 * `nodes` agents of `servicesPerNode` services each. A node has at most one report in flight,
 * so each node's reports arrive in order, 30 s of observed time apart; about `changeRate` of
 * its services change status from one report to the next.
 */
export class Fleet {
  private readonly idle: AgentNode[] = [];

  constructor(
    readonly prefix: string,
    readonly nodes: number,
    readonly servicesPerNode: number,
    private readonly options: { changeRate?: number; groups?: number } = {},
  ) {
    const start = 0;
    for (let index = 0; index < nodes; index++) this.idle.push({ index, at: start, services: this.freshServices() });
  }

  private get groupNames(): string[] {
    return Array.from({ length: this.options.groups ?? 0 }, (_, g) => `${this.prefix}-group-${g}`);
  }

  nodeId(index: number): string {
    return `${this.prefix}-${index}`;
  }

  private freshServices(): ServiceReport[] {
    const groups = this.options.groups ?? 0;
    return Array.from({ length: this.servicesPerNode }, (_, i) => ({
      name: serviceName(i),
      status: 'OPERATIONAL' as Status,
      replicas: 3,
      readyReplicas: 3,
      namespace: `ns-${i % 5}`,
      workloadType: 'Deployment',
      ...(groups ? { slaGroup: `${this.prefix}-group-${i % groups}` } : {}),
    }));
  }

  /** Takes an idle node, builds its next report, and gives the node back once `deliver` settles. */
  async send(deliver: (report: StatusReport) => Promise<void>): Promise<void> {
    const node = this.idle.shift();
    if (!node) throw new Error(`fleet ${this.prefix}: more reports in flight than nodes`);
    try {
      await deliver(this.nextReport(node));
    } finally {
      this.idle.push(node);
    }
  }

  private nextReport(node: AgentNode): StatusReport {
    // Live reports, as an agent sends them: observed now, each node's strictly after its previous one.
    node.at = Math.max(node.at + 1, Date.now());
    const changeRate = this.options.changeRate ?? 0.05;
    for (const s of node.services) {
      if (Math.random() >= changeRate) continue;
      s.status = s.status === 'OPERATIONAL' ? STATUSES[1 + Math.floor(Math.random() * 3)]! : 'OPERATIONAL';
      s.readyReplicas = readyFor(s.status, s.replicas);
    }
    // As an agent does, each report declares the groups its services name (a service may only name a defined group).
    const slaGroups = this.groupNames.map((name) => ({ name }));
    return { nodeId: this.nodeId(node.index), operatorVersion: '1.4.2', observedAt: new Date(node.at).toISOString(), services: node.services, ...(slaGroups.length ? { slaGroups } : {}) };
  }
}

/**
 * The report that seeds SLA groups `firstGroup` … `firstGroup + groups - 1`, `servicesPerGroup`
 * services each, all on one node, observed now.
 */
export function seedReport(nodeId: string, firstGroup: number, groups: number, servicesPerGroup: number): StatusReport {
  const tiers = ['critical', 'high', 'standard', 'low'];
  const names = Array.from({ length: groups }, (_, g) => `group-${String(firstGroup + g).padStart(3, '0')}`);
  return {
    nodeId,
    operatorVersion: '1.4.2',
    observedAt: new Date().toISOString(),
    slaGroups: names.map((name, g) => ({ name, displayName: `Group ${firstGroup + g}`, tier: tiers[(firstGroup + g) % tiers.length]! })),
    services: names.flatMap((group, g) =>
      Array.from({ length: servicesPerGroup }, (_, i) => ({
        name: serviceName(g * servicesPerGroup + i),
        status: 'OPERATIONAL' as Status,
        replicas: 2,
        readyReplicas: 2,
        namespace: `ns-${g}`,
        workloadType: 'StatefulSet',
        slaGroup: group,
      })),
    ),
  };
}

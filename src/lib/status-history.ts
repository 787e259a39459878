/**
 * The status timeline of one service as a pure function of its reports.
 *
 * A report's status holds from its `observedAt` until the next report, for at
 * most `staleMs`; after that the service is UNKNOWN until the next report. The
 * history is the list of change points of that timeline: a row where the status
 * changes, and an UNKNOWN row at the exact instant a silence made it stale.
 * Because it depends only on the set of reports, late and out-of-order delivery
 * give the same history as in-order delivery.
 */
export const SERVICE_STATUSES = ['OPERATIONAL', 'DEGRADED', 'PARTIAL_OUTAGE', 'MAJOR_OUTAGE', 'MAINTENANCE', 'UNKNOWN'] as const;
export type ServiceStatus = (typeof SERVICE_STATUSES)[number];

export interface Observation {
  at: number;
  status: ServiceStatus;
}

export interface Change {
  at: number;
  status: ServiceStatus;
}

/** What was known just before the first observation: the last report, or nothing. */
export type Context = { lastAt: number; status: ServiceStatus } | { lastAt: null; status: ServiceStatus | null };

/**
 * Change points from `observations` (sorted by time, distinct times) given the
 * context before them; with `now`, also the UNKNOWN point after the last report
 * once it has gone stale.
 */
export function changesFrom(observations: readonly Observation[], staleMs: number, context: Context, now?: number): Change[] {
  const changes: Change[] = [];
  let status = context.status;
  let lastAt = context.lastAt;
  const effectiveBefore = (at: number): ServiceStatus | null => {
    if (lastAt === null || status === null) return status;
    return at - lastAt > staleMs ? 'UNKNOWN' : status;
  };
  for (const o of observations) {
    if (lastAt !== null && status !== null && status !== 'UNKNOWN' && o.at - lastAt > staleMs) {
      changes.push({ at: lastAt + staleMs, status: 'UNKNOWN' });
    }
    if (effectiveBefore(o.at) !== o.status) changes.push({ at: o.at, status: o.status });
    status = o.status;
    lastAt = o.at;
  }
  if (now !== undefined && lastAt !== null && status !== null && status !== 'UNKNOWN' && now - lastAt > staleMs) {
    changes.push({ at: lastAt + staleMs, status: 'UNKNOWN' });
  }
  return changes;
}

/** Of two reports at the same instant, the one that wins, whatever order they came in. */
export function tieBreak(a: ServiceStatus, b: ServiceStatus): ServiceStatus {
  return SERVICE_STATUSES.indexOf(a) >= SERVICE_STATUSES.indexOf(b) ? a : b;
}

/**
 * An agent is ONLINE while the newest of its signs of life, the last heartbeat (when it arrived) or
 * the last status report (its observedAt), is at most `staleMs` old: the same limit after which
 * its services' statuses go UNKNOWN. Neither ever: OFFLINE.
 */
export function nodeStatus(lastHeartbeatAt: number | null, lastReportAt: number | null, now: number, staleMs: number): 'ONLINE' | 'OFFLINE' {
  const last = Math.max(lastHeartbeatAt ?? -Infinity, lastReportAt ?? -Infinity);
  return now - last <= staleMs ? 'ONLINE' : 'OFFLINE';
}

import { createHash } from 'node:crypto';

/**
 * The alert lifecycle as pure functions: whether a rule's condition holds for a reading, and how an
 * alert moves between pending, firing and resolved from one evaluation to the next. The evaluator
 * (modules/alerts) reads, calls these for every (rule, series), and writes what changed.
 *
 * Prometheus semantics where they are sound, with the fixes its users ask for: `duration` keeps a
 * new alert pending until its condition has held that long; `recoveryThreshold` is hysteresis (a
 * firing alert resolves only once the value is back past it, so a value hovering at the threshold
 * does not flap); `keepFiringFor` keeps a firing alert up for that long after its condition
 * stopped holding (a gap in the data or a short dip does not resolve and re-page). A reading that
 * is missing (no data) never holds.
 */

export const OPERATORS = ['>', '>=', '<', '<=', '==', '!='] as const;
export type Operator = (typeof OPERATORS)[number];

export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Severity = (typeof SEVERITIES)[number];

export function compare(op: Operator, value: number, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}

/** Which side of the threshold is "back to normal" for an operator: hysteresis needs a direction. */
export function recoveryDirection(op: Operator): 'below' | 'above' | null {
  if (op === '>' || op === '>=') return 'below';
  if (op === '<' || op === '<=') return 'above';
  return null;
}

/**
 * Where a recovery threshold must lie for an operator: below the threshold of `>`, above that of
 * `<`; equality operators have none. Answers the problem, or null when it is sound.
 */
export function recoveryProblem(op: Operator, threshold: number, recovery: number | null): string | null {
  if (recovery === null) return null;
  const dir = recoveryDirection(op);
  if (dir === null) return `operator ${op} takes no recoveryThreshold`;
  if (dir === 'below' && recovery > threshold) return `recoveryThreshold must be at most the threshold for operator ${op}`;
  if (dir === 'above' && recovery < threshold) return `recoveryThreshold must be at least the threshold for operator ${op}`;
  return null;
}

export interface Condition {
  operator: Operator;
  threshold: number;
  recoveryThreshold: number | null;
}

/**
 * Whether the condition holds for `value` (null: no data) given whether the alert is firing now:
 * a firing alert with a recovery threshold keeps holding until the value is past that threshold.
 */
export function conditionHolds(c: Condition, value: number | null, firing: boolean): boolean {
  if (value === null || !Number.isFinite(value)) return false;
  if (firing && c.recoveryThreshold !== null) {
    return recoveryDirection(c.operator) === 'below' ? value >= c.recoveryThreshold : value <= c.recoveryThreshold;
  }
  return compare(c.operator, value, c.threshold);
}

export type OpenState = 'PENDING' | 'FIRING';

/** An open alert as the lifecycle needs it; times are epoch milliseconds. */
export interface OpenAlert {
  state: OpenState;
  activeAt: number;
  firedAt: number | null;
  lastTrueAt: number | null;
}

export interface Timing {
  /** How long the condition must hold before firing. */
  durationMs: number;
  /** How long a firing alert stays up after its condition stopped holding. */
  keepFiringForMs: number;
}

export type Step =
  /** Nothing open, nothing to open. */
  | { kind: 'none' }
  /** Opened (PENDING or, without a duration, FIRING at once). */
  | { kind: 'open'; alert: OpenAlert }
  /** Still open in the same state; `alert` carries the new lastTrueAt. */
  | { kind: 'stay'; alert: OpenAlert }
  /** PENDING → FIRING. */
  | { kind: 'fire'; alert: OpenAlert }
  /** Resolved (a pending one that stopped holding is resolved without ever having fired). */
  | { kind: 'resolve' };

/** One evaluation at `now` of an alert (or of nothing open) whose condition does or does not hold. */
export function step(current: OpenAlert | null, holds: boolean, now: number, t: Timing): Step {
  if (!current) {
    if (!holds) return { kind: 'none' };
    if (t.durationMs <= 0) return { kind: 'open', alert: { state: 'FIRING', activeAt: now, firedAt: now, lastTrueAt: now } };
    return { kind: 'open', alert: { state: 'PENDING', activeAt: now, firedAt: null, lastTrueAt: now } };
  }
  if (current.state === 'PENDING') {
    if (!holds) return { kind: 'resolve' };
    if (now - current.activeAt >= t.durationMs) return { kind: 'fire', alert: { ...current, state: 'FIRING', firedAt: now, lastTrueAt: now } };
    return { kind: 'stay', alert: { ...current, lastTrueAt: now } };
  }
  if (holds) return { kind: 'stay', alert: { ...current, lastTrueAt: now } };
  const since = current.lastTrueAt ?? current.firedAt ?? current.activeAt;
  if (t.keepFiringForMs > 0 && now - since < t.keepFiringForMs) return { kind: 'stay', alert: current };
  return { kind: 'resolve' };
}

/** A label set in one canonical text: keys sorted, JSON. */
export function labelsKey(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/** An alert's identity: what raised it (a rule id, `node:<id>`, ...) and its label set. */
export function fingerprint(subject: string, labels: Readonly<Record<string, string>>): string {
  return createHash('sha256').update(`${subject}\n${labelsKey(labels)}`).digest('hex').slice(0, 32);
}

/** Whether a series' labels carry every matcher. */
export function matches(matchers: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(matchers).every(([k, v]) => labels[k] === v);
}

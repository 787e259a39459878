/**
 * The widest window any timestamp Opsgraph accepts may lie in. Each field narrows it further
 * (a status report's replay window, a backup's "not ahead of the clock"); nothing outside it is
 * stored or used in a query, so a "0000-01-01" can never make later reads fail.
 */
export const EARLIEST_INSTANT = new Date('2000-01-01T00:00:00.000Z');
export const LATEST_INSTANT = new Date('2100-01-01T00:00:00.000Z');

export function instantProblem(d: Date): string | null {
  if (Number.isNaN(d.getTime())) return 'is not a valid time';
  if (d < EARLIEST_INSTANT) return `is before ${EARLIEST_INSTANT.toISOString()}`;
  if (d >= LATEST_INSTANT) return `is not before ${LATEST_INSTANT.toISOString()}`;
  return null;
}

/**
 * The fleet's advisory locks, in the one order every writer takes them: a node's lock, then the
 * capacity lock. Transaction-scoped, so a crashed holder never keeps one.
 */

/** Reports of one node are applied one at a time, whichever instance receives them. */
export const nodeLock = (column: string) => `pg_advisory_xact_lock(hashtext('opsgraph:node:' || ${column}))`;

/** The node lock when it is free, without waiting: a sweep skips a node whose report is being applied. */
export const tryNodeLock = (column: string) => `pg_try_advisory_xact_lock(hashtext('opsgraph:node:' || ${column}))`;

/**
 * New services are counted under this lock (a license's maxServices), so two nodes adding services
 * at once cannot both take the last place. In FROM, so the statement returns a row rather than a
 * void column (which Prisma cannot read).
 */
export const CAPACITY_LOCK = `SELECT 1 AS locked FROM pg_advisory_xact_lock(hashtext('opsgraph:service-capacity'))`;

import { AppError } from './errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUIDs; anything else is the caller's mistake, named, before it reaches the database. */
export function assertUuid(id: string, field = 'id'): string {
  if (!UUID.test(id)) throw new AppError('BAD_USER_INPUT', `${field} must be a UUID`, { field });
  return id;
}

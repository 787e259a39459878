/** Where the tests find PostgreSQL and Redis: the same defaults as the app, overridable by TEST_* variables. */
/** Databases and Redis keys of a run start with this; a second checkout running its tests at the same time sets its own. */
export const TEST_PREFIX = process.env.TEST_DB_PREFIX ?? 'opsgraph_test';
export const TEMPLATE_DB = `${TEST_PREFIX}_template`;

const pgBase = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function baseDatabaseUrl(database: string): string {
  const url = new URL(pgBase);
  url.pathname = `/${database}`;
  return url.toString();
}

export const adminUrl = () => baseDatabaseUrl('postgres');

/** Where the tests find PostgreSQL and Redis: the same defaults as the app, overridable by TEST_* variables. */
export const TEMPLATE_DB = 'opsgraph_test_template';

const pgBase = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function baseDatabaseUrl(database: string): string {
  const url = new URL(pgBase);
  url.pathname = `/${database}`;
  return url.toString();
}

export const adminUrl = () => baseDatabaseUrl('postgres');

import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { applyMigrations, quoteIdent } from '../../src/infra/migrations.js';
import { adminUrl, baseDatabaseUrl, TEMPLATE_DB, TEST_PREFIX } from './env.js';

/**
 * Builds the migrated template database once per run; every test file clones it
 * (`CREATE DATABASE ... TEMPLATE`), which takes milliseconds instead of re-migrating.
 */
export default async function setup(_project: TestProject) {
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(TEMPLATE_DB)} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${quoteIdent(TEMPLATE_DB)}`);
    await applyMigrations(baseDatabaseUrl(TEMPLATE_DB));
    // Sweep databases left behind by runs that were killed before their teardown.
    const stale = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $2 AND datname <> $1`,
      [TEMPLATE_DB, `${TEST_PREFIX}\\_%`],
    );
    for (const { datname } of stale.rows) await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

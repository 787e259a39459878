import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { applyMigrations, createMigration, ensureDatabase, quoteIdent } from '../../src/infra/migrations.js';
import { adminUrl, baseDatabaseUrl, TEST_PREFIX } from '../support/env.js';

const database = `${TEST_PREFIX}_mig_${randomBytes(4).toString('hex')}`;
const url = baseDatabaseUrl(database);

afterAll(async () => {
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
  await admin.end();
});

describe('migrations through the WebAssembly schema engine', () => {
  it('creates a missing database once, applies every migration once, and finds nothing to add', async () => {
    expect(await ensureDatabase(url)).toBe(true);
    expect(await ensureDatabase(url)).toBe(false);

    const applied = await applyMigrations(url);
    expect(applied.length).toBeGreaterThan(0);
    expect(await applyMigrations(url)).toEqual([]);

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const rows = await client.query<{ migration_name: string }>('SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name');
      expect(rows.rows.map((r) => r.migration_name)).toEqual(applied);
      const tables = await client.query(`SELECT 1 FROM information_schema.tables WHERE table_name = 'Setting'`);
      expect(tables.rowCount).toBe(1);
    } finally {
      await client.end();
    }

    // schema.prisma and the last migration agree: a new migration would be empty.
    expect(await createMigration(url, 'nothing_changed')).toBeNull();
  });
});

import { readFile, readdir, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import * as engineBindings from '@prisma/schema-engine-wasm/schema_engine_bg';
import type { MigrationList, SchemaEngine } from '@prisma/schema-engine-wasm';

/**
 * Migrations through Prisma's WebAssembly schema engine, because the Prisma CLI
 * cannot download its native engine here. The layout is Prisma's own
 * (`prisma/migrations/<timestamp>_<name>/migration.sql`, `_prisma_migrations`),
 * so `prisma migrate deploy` keeps working wherever the CLI can run.
 *
 * New migrations are made by diffing the schema snapshot stored beside the
 * newest migration against `prisma/schema.prisma`: the engine cannot diff a
 * live database or create a shadow one through the driver adapter.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const prismaDir = path.basename(root) === 'dist' ? path.resolve(root, '../prisma') : path.join(root, 'prisma');
const migrationsDir = path.join(prismaDir, 'migrations');
const schemaPath = path.join(prismaDir, 'schema.prisma');
const SNAPSHOT = 'schema.prisma';
const LOCKFILE = 'migration_lock.toml';
const noFilters = { externalTables: [], externalEnums: [] };

// @types/node 20 does not describe WebAssembly; this is the little we use of it.
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
};

let wasmReady: Promise<void> | undefined;
function loadWasm(): Promise<void> {
  wasmReady ??= (async () => {
    // Node 20 cannot import a .wasm module, so the instance is built by hand.
    const wasmPath = path.join(path.dirname(createRequire(import.meta.url).resolve('@prisma/schema-engine-wasm/schema_engine_bg')), 'schema_engine_bg.wasm');
    const module = new WebAssembly.Module(await readFile(wasmPath));
    const instance = new WebAssembly.Instance(module, { './schema_engine_bg.js': engineBindings as unknown as Record<string, unknown> });
    const bindings = engineBindings as unknown as { __wbg_set_wasm(exports: Record<string, unknown>): void };
    bindings.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
  })();
  return wasmReady;
}

async function withEngine<T>(databaseUrl: string, fn: (engine: SchemaEngine) => Promise<T>): Promise<T> {
  await loadWasm();
  const { SchemaEngine } = engineBindings as unknown as { SchemaEngine: typeof import('@prisma/schema-engine-wasm').SchemaEngine };
  const schemaText = await readFile(schemaPath, 'utf8');
  // Our own pool, so that it is closed when the engine is done and leaves no idle sockets behind.
  const pool = new pg.Pool({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000, max: 2 });
  pool.on('error', () => undefined);
  try {
    const adapter = bindMigrationAwareSqlAdapterFactory(new PrismaPg(pool));
    const engine = await SchemaEngine.new({ datamodels: [[schemaPath, schemaText]] }, () => undefined, adapter);
    try {
      return await fn(engine);
    } finally {
      engine.free();
    }
  } finally {
    await pool.end();
  }
}

async function migrationDirectories(): Promise<string[]> {
  if (!existsSync(migrationsDir)) return [];
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory() && /^\d{14}_/.test(e.name)).map((e) => e.name).sort();
}

async function migrationsList(): Promise<MigrationList> {
  const dirs = await migrationDirectories();
  const lockPath = path.join(migrationsDir, LOCKFILE);
  return {
    baseDir: migrationsDir,
    lockfile: { path: LOCKFILE, content: existsSync(lockPath) ? await readFile(lockPath, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories: await Promise.all(
      dirs.map(async (dir) => ({
        path: dir,
        migrationFile: {
          path: 'migration.sql',
          content: { tag: 'ok' as const, value: await readFile(path.join(migrationsDir, dir, 'migration.sql'), 'utf8') },
        },
      })),
    ),
  } as MigrationList;
}

/** Creates the database named in the URL when it does not exist yet. */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!name) throw new Error('DATABASE_URL names no database');
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) return false;
    try {
      await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
    } catch (err) {
      // Another instance starting at the same moment created it first: 42P04 once it has committed,
      // 23505 (pg_database's unique name index) while its CREATE DATABASE is still running.
      const code = (err as { code?: string }).code;
      if (code !== '42P04' && code !== '23505') throw err;
      return false;
    }
    return true;
  } finally {
    await client.end();
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Applies pending migrations like `prisma migrate deploy`; returns the names applied. */
export async function applyMigrations(databaseUrl: string): Promise<string[]> {
  const list = await migrationsList();
  return withEngine(databaseUrl, async (engine) => {
    const out = await engine.applyMigrations({ migrationsList: list, filters: noFilters });
    return out.appliedMigrationNames;
  });
}

/**
 * Writes a new migration with the SQL that takes the last migrated schema to the
 * current `schema.prisma`. Returns its directory, or null when nothing changed.
 */
export async function createMigration(databaseUrl: string, name: string, now = new Date()): Promise<string | null> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error('migration name: lowercase letters, digits and "_" only');
  const dirs = await migrationDirectories();
  const previous = dirs.length ? path.join(migrationsDir, dirs[dirs.length - 1]!, SNAPSHOT) : null;
  const current = await readFile(schemaPath, 'utf8');
  const from = previous && existsSync(previous)
    ? { tag: 'schemaDatamodel' as const, files: [{ path: previous, content: await readFile(previous, 'utf8') }] }
    : { tag: 'empty' as const };
  const sql = await withEngine(databaseUrl, async (engine) => {
    const result = await engine.diff({
      from,
      to: { tag: 'schemaDatamodel', files: [{ path: schemaPath, content: current }] },
      script: true,
      exitCode: null,
      filters: noFilters,
    } as Parameters<SchemaEngine['diff']>[0]);
    return result.stdout ?? '';
  });
  if (!sql.trim() || /^-- This is an empty migration\.\s*$/.test(sql.trim())) return null;
  const stamp = now.toISOString().replace(/\D/g, '').slice(0, 14);
  const dir = path.join(migrationsDir, `${stamp}_${name}`);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'migration.sql'), sql);
  await writeFile(path.join(dir, SNAPSHOT), current);
  const lockPath = path.join(migrationsDir, LOCKFILE);
  if (!existsSync(lockPath)) {
    await writeFile(
      lockPath,
      '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "postgresql"\n',
    );
  }
  return dir;
}

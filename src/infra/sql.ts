import type pg from 'pg';
import { Prisma } from '../generated/prisma/client.js';

/**
 * The one way raw SQL runs. The rule: Prisma models for row-by-row CRUD; parameterized SQL
 * through `Sql` for set-based work (ingest, rollups, sweeps, the audit chain); nothing else (no
 * `$queryRawUnsafe`, no SQL built from input). A statement is text with `$1`..`$n` placeholders
 * and its values, or `{ name, text, values }` for a hot path, which pg prepares once per connection.
 */
export type Statement =
  | string
  | {
      name?: string;
      text: string;
      values?: readonly unknown[];
      /**
       * How long the client waits for this statement instead of the pool's query timeout (see
       * infra/prisma.ts); then the connection is dropped. pg pools and clients only: statements
       * inside a Prisma transaction keep the pool's.
       */
      timeoutMs?: number;
    };

export interface Sql {
  readonly [SQL]: true;
  /** The rows the statement returns. */
  query<R = Record<string, unknown>>(statement: Statement, values?: readonly unknown[]): Promise<R[]>;
  /** How many rows the statement changed. */
  execute(statement: Statement, values?: readonly unknown[]): Promise<number>;
}

const SQL = Symbol('sql');

type PgQueryable = Pick<pg.Pool, 'query'> | Pick<pg.ClientBase, 'query'>;
type PrismaQueryable = Pick<Prisma.TransactionClient, '$queryRaw' | '$executeRaw'>;
export type SqlSource = Sql | PgQueryable | PrismaQueryable;

/** A runner over a pg pool or client, a Prisma client or interactive transaction, or a runner already. */
export function sqlOf(source: SqlSource): Sql {
  if (SQL in source) return source;
  if ('$queryRaw' in source) {
    return {
      [SQL]: true,
      query: <R>(statement: Statement, values: readonly unknown[] = []) => source.$queryRaw<R[]>(tagged(statement, values)),
      execute: (statement, values = []) => source.$executeRaw(tagged(statement, values)),
    };
  }
  const run = (statement: Statement, values: readonly unknown[]) => {
    if (typeof statement === 'string') return (source as Pick<pg.ClientBase, 'query'>).query({ text: statement, values: [...values] });
    const { timeoutMs, ...config } = statement;
    return (source as Pick<pg.ClientBase, 'query'>).query({ ...config, values: [...(statement.values ?? values)], ...(timeoutMs ? { query_timeout: timeoutMs } : {}) });
  };
  return {
    [SQL]: true,
    query: async <R>(statement: Statement, values: readonly unknown[] = []) => (await run(statement, values)).rows as R[],
    execute: async (statement, values = []) => (await run(statement, values)).rowCount ?? 0,
  };
}

/** `$n` placeholders as Prisma's tagged SQL: the same parameterized text, run inside a Prisma transaction. */
function tagged(statement: Statement, values: readonly unknown[]): Prisma.Sql {
  const text = typeof statement === 'string' ? statement : statement.text;
  if (typeof statement !== 'string' && statement.values) values = statement.values;
  const strings: string[] = [];
  const ordered: unknown[] = [];
  let last = 0;
  for (const m of text.matchAll(/\$(\d+)/g)) {
    strings.push(text.slice(last, m.index));
    ordered.push(values[Number(m[1]) - 1]);
    last = m.index + m[0].length;
  }
  strings.push(text.slice(last));
  return Prisma.sql(strings, ...ordered);
}

/**
 * A transaction on one pooled connection for the SQL hot paths: committed when `fn` resolves,
 * rolled back when it throws.
 */
export async function inTransaction<T>(pool: pg.Pool, fn: (db: Sql) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let result: T;
  try {
    await client.query('BEGIN');
    result = await fn(sqlOf(client));
    await client.query('COMMIT');
  } catch (err) {
    // A connection that cannot even roll back (frozen, closed, timed out) is in no state to serve
    // another request: it is dropped, not returned to the pool.
    const broken = await client.query('ROLLBACK').then(
      () => false,
      () => true,
    );
    client.release(broken);
    throw err;
  }
  client.release();
  return result;
}

/**
 * One server of the http bench, run as a child process so it has a core to itself:
 *   node --import @oxc-node/core/register bench/http.server.ts <bare|apollo|opsgraph>
 * Listens on 127.0.0.1 at a free port, prints `PORT <n>` on stdout, and exits on SIGTERM
 * or when the parent's IPC channel closes (so a killed bench leaves no servers behind).
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { GRAPHQL_PATH } from '../src/graphql/server.js';
import { withTimeout } from '../src/lib/timeout.js';
import { benchModule } from './http.module.js';
import { EXPECTED, QUERIES, SERVER_KINDS, buildBenchSchema, type QueryName, type ServerKind } from './http.schema.js';

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

/**
 * The floor: what any GraphQL server must at least do (read and parse the body, serialise
 * the answer), without parsing, validating or executing the query.
 */
function bare(): Server {
  const byQuery = new Map<string, unknown>(Object.entries(QUERIES).map(([name, q]) => [q, EXPECTED[name as QueryName]]));
  return createServer(async (req, res) => {
    if (req.method !== 'POST' || req.url !== GRAPHQL_PATH) {
      res.writeHead(404).end();
      return;
    }
    const { query } = JSON.parse(await readBody(req)) as { query?: string };
    const answer = query === undefined ? undefined : byQuery.get(query);
    if (answer === undefined) {
      res.writeHead(400, { 'content-type': 'application/json; charset=utf-8' }).end('{"errors":[{"message":"unknown query"}]}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(answer));
  });
}

/** Apollo Server 5 on Express 5 as its docs set it up, every option at its default. */
async function apollo(): Promise<Server> {
  const server = new ApolloServer({ schema: buildBenchSchema() });
  await server.start();
  const app = express();
  app.use(GRAPHQL_PATH, express.json(), expressMiddleware(server));
  return createServer(app);
}

/**
 * Opsgraph as `npm start` builds it (src/app.ts), with the bench's schema as its only module:
 * request context and logging, helmet, authentication, the Redis rate limit, Apollo with the
 * document limits, graphql-ws.
 */
async function opsgraph(): Promise<number> {
  const config = loadConfig({
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    PORT: '0',
    REDIS_URL: 'redis://127.0.0.1:6379',
    // Never shares keys or channels with a running Opsgraph or another bench.
    REDIS_PREFIX: `opsgraph_bench_${randomBytes(4).toString('hex')}`,
    // Given, so no secret is read from or written to the database: the bench needs no PostgreSQL.
    JWT_SECRET: randomBytes(32).toString('base64url'),
    // The limiter still counts every request in Redis (its real cost); it just never refuses the load generator.
    RATE_LIMIT_GRAPHQL: String(1_000_000_000),
  });
  const app = await createApp(config, { modules: [benchModule] });
  const { url } = await withTimeout(app.start('api'), 5_000).catch((err: unknown) => {
    throw new Error(`Redis at ${config.REDIS_URL} did not answer: ${(err as Error).message}`);
  });
  return Number(new URL(url!).port);
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

const starters: Record<ServerKind, () => Promise<number>> = { bare: () => listen(bare()), apollo: async () => listen(await apollo()), opsgraph };

async function main(): Promise<void> {
  const kind = process.argv[2] as ServerKind;
  if (!SERVER_KINDS.includes(kind)) throw new Error(`unknown server kind "${kind}"; expected one of ${SERVER_KINDS.join(', ')}`);
  // No graceful drain: the bench has finished with the server when it asks it to go.
  process.once('SIGTERM', () => process.exit(0));
  process.once('disconnect', () => process.exit(0));

  process.stdout.write(`PORT ${await starters[kind]()}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`http bench server ${process.argv[2]}: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});

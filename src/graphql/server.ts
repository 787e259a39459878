import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import type { RequestHandler } from 'express';
import { getOperationAST, GraphQLError, Kind, parse, specifiedRules, validate, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { CloseCode, type Context } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { refusalReason as closeReason, type Authenticator } from '../auth/authenticator.js';
import { CLOCK_TOLERANCE_SECONDS } from '../auth/tokens.js';
import type { Principal } from '../auth/roles.js';
import type { Config } from '../config.js';
import type { Clock } from '../infra/clock.js';
import type { EventBus } from '../infra/events.js';
import type { Logger } from '../infra/logger.js';
import type { RateLimiter } from '../infra/ratelimit.js';
import type { ProcessRuntime } from '../infra/runtime.js';
import { graphqlHttpStatus } from '../lib/errors.js';
import { findHostileString } from '../lib/hostile-input.js';
import { hostileStringLiterals } from './hostile-input.js';
import { clientKey } from '../lib/ip.js';
import type { SecurityLog } from '../infra/security-log.js';
import type { GraphQLContext } from './context.js';
import { formatGraphQLError } from './errors.js';
import { limitRules, parseLimits } from './limits.js';
import type { LoaderRegistry } from './loaders.js';

export const GRAPHQL_PATH = '/graphql';
export const GRAPHQL_WS_PATH = '/graphql/ws';
const WS_MAX_PAYLOAD = 64 * 1024;

/** An operation that produced no data answers the status the error table gives its first error (lib/errors.ts); partial results keep 200. */
const httpStatusFromErrors: ApolloServerPlugin<GraphQLContext> = {
  async requestDidStart() {
    return {
      async willSendResponse({ response }) {
        if (response.body.kind !== 'single') return;
        const { data, errors } = response.body.singleResult;
        if (data || !errors?.length) return;
        const status = graphqlHttpStatus[String(errors[0]!.extensions?.code)];
        if (status) response.http.status = status;
      },
    };
  },
};

export interface GraphQLServer {
  /** Express handler for `POST/GET /graphql`; expects `req.principal` set by the authentication middleware. */
  handler: RequestHandler;
  /**
   * The graphql-ws server for `/graphql/ws`. It has no HTTP server of its own: the upgrade router
   * (http/upgrade.ts) hands it the upgrades of its path, as two `ws` servers on one HTTP server
   * would each answer the other's upgrades with 400.
   */
  webSocketServer(): WebSocketServer;
  /** Closes every WebSocket (1001) and the WebSocket server; answers how many were open. */
  closeWebSockets(): Promise<number>;
  /** Stops Apollo; call once in-flight HTTP requests have drained. */
  stop(): Promise<void>;
}

type WsExtra = {
  socket: WebSocket;
  request: IncomingMessage;
  requestId?: string;
  authorization?: string;
  principal?: Principal;
  expiry?: NodeJS.Timeout;
  operations?: Set<string>;
};

export async function createGraphQLServer(deps: {
  schema: GraphQLSchema;
  events: EventBus;
  logger: Logger;
  config: Config;
  authenticator: Authenticator;
  security: SecurityLog;
  limiter: RateLimiter;
  clock: Clock;
  loaders: LoaderRegistry;
  runtime: ProcessRuntime;
}): Promise<GraphQLServer> {
  const { config } = deps;
  const formatError = formatGraphQLError(deps.logger);
  const rules = [...limitRules(config), hostileStringLiterals];
  const introspection = config.GRAPHQL_INTROSPECTION ?? config.NODE_ENV !== 'production';
  const apollo = new ApolloServer<GraphQLContext>({
    schema: deps.schema,
    formatError,
    validationRules: rules,
    parseOptions: parseLimits(config),
    includeStacktraceInErrorResponses: false,
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    introspection,
    plugins: [
      // The landing page follows introspection: without one the other is useless.
      ...(introspection ? [] : [ApolloServerPluginLandingPageDisabled()]),
      // Opsgraph sets no cache hints; the default cache-control plugin would still wrap every field resolver.
      ApolloServerPluginCacheControlDisabled(),
      httpStatusFromErrors,
      // A mutation's fields run one after another and change what an earlier one may have read
      // through a loader: its links batch but are never answered from the request's cache.
      {
        async requestDidStart() {
          return {
            async didResolveOperation({ operation, contextValue }) {
              // Named by the schema's root field, never by the client's operation name, so the tally stays bounded.
              const root = operation?.selectionSet.selections.find((s) => s.kind === Kind.FIELD);
              if (operation && root?.kind === Kind.FIELD) contextValue.nameRoute?.(`graphql:${operation.operation} ${root.name.value}`);
              if (operation?.operation === 'subscription') {
                throw new GraphQLError(`subscriptions are served over WebSocket at ${GRAPHQL_WS_PATH} (graphql-ws protocol), not over POST ${GRAPHQL_PATH}`, {
                  extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
                });
              }
              if (operation?.operation === 'mutation') contextValue.loaders = deps.loaders.forRequest({ cache: false });
            },
          };
        },
      },
    ],
    // Shutdown is ours (see app.ts): Apollo's own signal handlers would re-raise SIGTERM and exit 143.
    stopOnTerminationSignals: false,
  });
  await apollo.start();

  const handler = expressMiddleware(apollo, {
    context: async ({ req, res }): Promise<GraphQLContext> => ({
      requestId: req.id,
      get logger() {
        return req.log;
      },
      events: deps.events,
      principal: req.principal,
      authError: res.locals.authError,
      ip: req.ip,
      loaders: deps.loaders.forRequest(),
      nameRoute: (route) => {
        res.locals.route = route;
      },
    }),
  });

  const format = (errors: readonly GraphQLError[]) => errors.map((e) => formatError(e.toJSON(), e));
  const reject = (message: string, code = 'GRAPHQL_VALIDATION_FAILED') => [new GraphQLError(message, { extensions: { code } })];

  let disposeWs: (() => Promise<number>) | undefined;
  let wss: WebSocketServer | undefined;
  return {
    handler,
    webSocketServer() {
      if (wss) return wss;
      const server = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_PAYLOAD });
      wss = server;
      server.on('connection', (socket) => socket.once('close', deps.runtime.open('ws')));
      const cleanup = useServer<Record<string, unknown> | undefined, WsExtra>(
        {
          schema: deps.schema,
          // Authenticate once, in connection_init; a bad or missing token closes with 4403.
          onConnect: async (ctx: Context<Record<string, unknown> | undefined, WsExtra>) => {
            const ip = ctx.extra.request.socket.remoteAddress;
            const raw = ctx.connectionParams?.authorization;
            const authorization = typeof raw === 'string' ? (/^Bearer\s/i.test(raw) ? raw : `Bearer ${raw}`) : undefined;
            try {
              const principal = authorization ? await deps.authenticator.authenticate(authorization, ip) : undefined;
              if (!principal) throw new Error('no token');
              ctx.extra.principal = principal;
              ctx.extra.authorization = authorization;
              ctx.extra.requestId = randomUUID();
              ctx.extra.operations = new Set();
              if (principal.kind === 'user') {
                // The same rule as HTTP: a token is taken until exp plus the clock tolerance.
                const ms = principal.expiresAt.getTime() + CLOCK_TOLERANCE_SECONDS * 1_000 - deps.clock.now().getTime();
                ctx.extra.expiry = setTimeout(() => ctx.extra.socket.close(CloseCode.Forbidden, 'token expired'), Math.max(0, ms));
                ctx.extra.expiry.unref();
              }
              return true;
            } catch (err) {
              const message = (err as Error).message;
              void deps.security.record('ws_rejected', { ip, details: { reason: message }, sampleBy: clientKey(ip) });
              ctx.extra.socket.close(CloseCode.Forbidden, closeReason(message));
              return false;
            }
          },
          onClose: (ctx) => clearTimeout(ctx.extra.expiry),
          // Subscriptions only (queries and mutations go over HTTP), with the same limits, the same
          // rate budget and a fresh look at the caller: a user disabled since connecting is refused.
          onSubscribe: async (ctx, id, payload) => {
            const ops = ctx.extra.operations!;
            if (ops.size >= config.WS_MAX_SUBSCRIPTIONS) {
              return reject(`at most ${config.WS_MAX_SUBSCRIPTIONS} subscriptions per connection`, 'BAD_USER_INPUT');
            }
            // The slot is taken before the first await, so a burst cannot slip past the cap.
            ops.add(id);
            const refuse = (message: string, code?: string) => {
              ops.delete(id);
              return reject(message, code);
            };
            let document: DocumentNode;
            try {
              document = parse(payload.query, parseLimits(config));
            } catch (err) {
              return refuse((err as Error).message, 'GRAPHQL_PARSE_FAILED');
            }
            const errors = validate(deps.schema, document, [...specifiedRules, ...rules]);
            if (errors.length) {
              ops.delete(id);
              // Returned as GraphQLErrors; onError below formats them like every other error.
              return errors.map((e) => (e.extensions.code ? e : new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })));
            }
            const hostile = findHostileString(payload.variables ?? {}, 'variables');
            if (hostile) return refuse(`${hostile.field} ${hostile.problem}`, 'BAD_USER_INPUT');
            if (getOperationAST(document, payload.operationName)?.operation !== 'subscription') {
              return refuse('only subscriptions are served over WebSocket; send queries and mutations to POST /graphql', 'BAD_USER_INPUT');
            }
            const ip = ctx.extra.request.socket.remoteAddress;
            try {
              ctx.extra.principal = await deps.authenticator.authenticate(ctx.extra.authorization, ip);
            } catch (err) {
              ctx.extra.socket.close(CloseCode.Forbidden, closeReason((err as Error).message));
              return refuse('authentication is no longer valid', 'UNAUTHENTICATED');
            }
            const p = ctx.extra.principal;
            const budget = await deps.limiter.hit('graphql', p?.kind === 'user' ? `user:${p.userId}` : `ip:${clientKey(ip)}`, config.RATE_LIMIT_GRAPHQL);
            if (!budget.allowed) return refuse('Rate limit exceeded', 'RATE_LIMITED');
            const context: GraphQLContext = {
              requestId: ctx.extra.requestId!,
              logger: deps.logger.child({ reqId: ctx.extra.requestId, transport: 'ws' }),
              events: deps.events,
              principal: ctx.extra.principal,
              ip,
              // Lives as long as the subscription: batching per event, no cache across events.
              loaders: deps.loaders.forRequest({ cache: false }),
            };
            return { schema: deps.schema, document, variableValues: payload.variables, operationName: payload.operationName, contextValue: context };
          },
          onComplete: (ctx, id) => void ctx.extra.operations?.delete(id),
          onError: (ctx, id, _payload, errors) => {
            ctx.extra.operations?.delete(id);
            return format(errors) as never;
          },
          onNext: (_ctx, _id, _payload, _args, result) =>
            (result as ExecutionResult).errors ? ({ ...result, errors: format((result as ExecutionResult).errors!) } as never) : result,
        },
        server,
      );
      disposeWs = async () => {
        const open = server.clients.size;
        // Close politely (1001); a peer that never answers (a laptop gone to sleep) must not
        // hold shutdown past its budget, so whatever is left after a moment is cut.
        const polite = Promise.resolve(cleanup.dispose());
        const timedOut = await Promise.race([polite.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 2_000).unref())]);
        if (timedOut) for (const client of server.clients) client.terminate();
        await polite.catch(() => undefined);
        return open;
      };
      return server;
    },
    async closeWebSockets() {
      return (await disposeWs?.()) ?? 0;
    },
    async stop() {
      await apollo.stop();
    },
  };
}

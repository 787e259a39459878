import type { Server } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import type { RequestHandler } from 'express';
import { GraphQLError, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import type { EventBus } from '../infra/events.js';
import type { Logger } from '../infra/logger.js';
import type { GraphQLContext } from './context.js';
import { formatGraphQLError } from './errors.js';
import { randomUUID } from 'node:crypto';

export const GRAPHQL_PATH = '/graphql';
export const GRAPHQL_WS_PATH = '/graphql/ws';
const WS_MAX_PAYLOAD = 64 * 1024;

export interface GraphQLServer {
  /** Express handler for `POST/GET /graphql`. */
  handler: RequestHandler;
  /** Attaches graphql-ws to the HTTP server at `/graphql/ws`. */
  attachWebSocket(http: Server): void;
  /** Closes every WebSocket (1001) and the WebSocket server. */
  closeWebSockets(): Promise<void>;
  /** Stops Apollo; call once in-flight HTTP requests have drained. */
  stop(): Promise<void>;
}

export async function createGraphQLServer(deps: { schema: GraphQLSchema; events: EventBus; logger: Logger; introspection: boolean }): Promise<GraphQLServer> {
  const formatError = formatGraphQLError(deps.logger);
  const apollo = new ApolloServer<GraphQLContext>({
    schema: deps.schema,
    formatError,
    includeStacktraceInErrorResponses: false,
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    introspection: deps.introspection,
    // Shutdown is ours (see app.ts): Apollo's own signal handlers would re-raise SIGTERM and exit 143.
    stopOnTerminationSignals: false,
  });
  await apollo.start();

  const handler = expressMiddleware(apollo, {
    context: async ({ req }): Promise<GraphQLContext> => ({ requestId: req.id, logger: req.log, events: deps.events }),
  });

  let disposeWs: (() => Promise<void>) | undefined;
  return {
    handler,
    attachWebSocket(http) {
      const wss = new WebSocketServer({ server: http, path: GRAPHQL_WS_PATH, maxPayload: WS_MAX_PAYLOAD });
      const format = (errors: readonly Parameters<typeof formatError>[1][]) =>
        errors.map((e) => formatError((e as { toJSON(): never }).toJSON(), e));
      const cleanup = useServer<Record<string, unknown>, { requestId: string }>(
        {
          schema: deps.schema,
          context: (ctx): GraphQLContext => {
            const requestId = (ctx.extra.requestId ??= randomUUID());
            return { requestId, logger: deps.logger.child({ reqId: requestId, transport: 'ws' }), events: deps.events };
          },
          // graphql-ws reports parse and validation failures here, without the code Apollo gives them on HTTP.
          onError: (_ctx, _id, _payload, errors) =>
            format(errors.map((e) => (e.originalError || e.extensions.code ? e : new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })))) as never,
          onNext: (_ctx, _id, _payload, _args, result) =>
            (result as ExecutionResult).errors ? ({ ...result, errors: format((result as ExecutionResult).errors!) } as never) : result,
        },
        wss,
      );
      disposeWs = async () => {
        await cleanup.dispose();
      };
    },
    async closeWebSockets() {
      await disposeWs?.();
    },
    async stop() {
      await apollo.stop();
    },
  };
}

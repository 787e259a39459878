import type { IncomingMessage } from 'node:http';
import { z, type ZodType } from 'zod';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { refusalReason, type Authenticator } from '../auth/authenticator.js';
import type { Principal } from '../auth/roles.js';
import { CLOCK_TOLERANCE_SECONDS } from '../auth/tokens.js';
import type { Clock } from '../infra/clock.js';
import type { EventDefinition, EventBus, OpsEvent } from '../infra/events.js';
import type { Logger } from '../infra/logger.js';
import type { ProcessRuntime } from '../infra/runtime.js';
import type { SecurityLog } from '../infra/security-log.js';
import { clientKey } from '../lib/ip.js';
import { SendBuffer, type SendBufferLimits } from '../lib/send-buffer.js';
import { closest } from '../lib/suggest.js';

/** The plain WebSocket channels of seeds 000 and 004, beside graphql-ws's `/graphql/ws`. */
export const CHANNELS_PATH = '/ws';

/** Close codes of `/ws`: 4401 for every refused or lost credential, as the seeds' clients expect. */
export const CHANNEL_CLOSE = { unauthorized: 4401, goingAway: 1001 } as const;

/**
 * One channel as data: the bus events that feed it, what each event pushes, and the filters a
 * subscriber may give. The modules declare their channels (`ModuleInstance.channels`); this file
 * knows none of them.
 */
export interface LiveChannel<F = unknown, D = unknown> {
  name: string;
  /** The `type` of the pushed messages: `{ type: push, data }`. */
  push: string;
  events: readonly EventDefinition[];
  /** What one event pushes, one message per datum (a batch of samples is one message per sample). */
  data(event: OpsEvent): D[];
  /** The subscriber's `filters` (seed 000); absent: the channel takes no filters. */
  filters?: ZodType<F>;
  /** Whether a datum is for a subscriber with these filters; called only when the subscriber gave some. */
  matches?(filters: F, datum: D): boolean;
}

/** A channel of any filter and datum type, for lists of them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyLiveChannel = LiveChannel<any, any>;

export const defineChannel = <F, D>(channel: LiveChannel<F, D>): AnyLiveChannel => channel;

export interface ChannelLimits extends SendBufferLimits {
  /** How long a socket without `?token=` may take to send its `auth` message. */
  authTimeoutMs: number;
  /** Largest accepted client message, in bytes. */
  maxPayload: number;
  /** How often the server pings each socket; a socket that did not answer the previous ping is cut. */
  heartbeatMs: number;
}

export interface ChannelServer {
  readonly wss: WebSocketServer;
  /** Takes the one bus subscription that feeds every socket; call before serving. */
  start(): void;
  /** Closes every socket (1001), cutting those that do not answer within 2 s; answers how many were open. */
  close(): Promise<number>;
}

const names = z.array(z.string().min(1).max(64)).min(1).max(16);
const clientMessage = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('auth'), token: z.string().min(1).max(8_192) }),
  z.strictObject({ type: z.literal('subscribe'), channel: z.string().min(1).max(64).optional(), channels: names.optional(), filters: z.record(z.string(), z.unknown()).optional() }),
  z.strictObject({ type: z.literal('unsubscribe'), channel: z.string().min(1).max(64).optional(), channels: names.optional() }),
  z.strictObject({ type: z.literal('ping') }),
]);
type ClientMessage = z.output<typeof clientMessage>;
const MESSAGE_TYPES = ['auth', 'subscribe', 'unsubscribe', 'ping'];

interface Connection {
  socket: WebSocket;
  ip: string | undefined;
  out: SendBuffer;
  principal?: Principal;
  /** Messages are handled one at a time, in order, behind a pending authentication. */
  chain: Promise<void>;
  authTimer?: NodeJS.Timeout;
  expiry?: NodeJS.Timeout;
  alive: boolean;
  channels: Set<string>;
}

/** A message the client sent that cannot be served: answered with `{ type: "error" }`, the socket stays open. */
class ProtocolError extends Error {}

/**
 * The `/ws` server. A socket authenticates with `?token=<jwt>` or a first `{ type: "auth" }`
 * message, then subscribes to channels; every push reaches it through a bounded send buffer.
 * Events come from one bus subscription per process, fanned out in memory, so a push raised on
 * any instance or worker reaches every socket of every instance.
 */
export function createChannelServer(deps: {
  channels: readonly AnyLiveChannel[];
  events: EventBus;
  authenticator: Authenticator;
  security: SecurityLog;
  clock: Clock;
  logger: Logger;
  runtime: ProcessRuntime;
  limits: ChannelLimits;
}): ChannelServer {
  const { limits } = deps;
  const byName = new Map(deps.channels.map((c) => [c.name, c]));
  const known = [...byName.keys()];
  /** Per channel, the sockets subscribed to it and their filters (undefined: everything). */
  const subscribers = new Map<string, Map<Connection, unknown>>(known.map((n) => [n, new Map()]));
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxPayload });
  const connections = new Set<Connection>();
  let feed: AsyncIterator<OpsEvent> | undefined;
  let heartbeat: NodeJS.Timeout | undefined;

  const send = (conn: Connection, message: Record<string, unknown>) => conn.out.push(JSON.stringify(message));

  function refuse(conn: Connection, reason: string, detail: string, record = true): void {
    if (record) void deps.security.record('ws_rejected', { ip: conn.ip, details: { reason: detail, path: CHANNELS_PATH }, sampleBy: clientKey(conn.ip) });
    conn.out.close();
    conn.socket.close(CHANNEL_CLOSE.unauthorized, reason);
  }

  async function authenticate(conn: Connection, token: string): Promise<void> {
    clearTimeout(conn.authTimer);
    let principal: Principal | undefined;
    try {
      principal = await deps.authenticator.authenticate(`Bearer ${token}`, conn.ip);
      if (!principal) throw new Error('no token');
    } catch (err) {
      const message = (err as Error).message;
      return refuse(conn, refusalReason(message), message);
    }
    // Seed 000 and 004 clients send a person's access token; an API key is for pushing, not watching.
    if (principal.kind !== 'user') return refuse(conn, 'API keys cannot subscribe; use an access token', 'api key on /ws');
    conn.principal = principal;
    clearTimeout(conn.expiry);
    // The same rule as HTTP: a token is taken until exp plus the clock tolerance; a new `auth`
    // message with a fresh token extends the socket's life.
    const ms = principal.expiresAt.getTime() + CLOCK_TOLERANCE_SECONDS * 1_000 - deps.clock.now().getTime();
    conn.expiry = setTimeout(() => refuse(conn, 'token expired', 'token expired on an open socket', false), Math.max(0, Math.min(ms, 2 ** 31 - 1)));
    conn.expiry.unref();
    send(conn, { type: 'authenticated', expiresAt: principal.expiresAt.toISOString() });
  }

  function parse(raw: RawData, isBinary: boolean): ClientMessage {
    if (isBinary) throw new ProtocolError('messages are JSON text');
    let value: unknown;
    try {
      value = JSON.parse(raw.toString());
    } catch {
      throw new ProtocolError('message is not valid JSON');
    }
    const type = (value as { type?: unknown } | null)?.type;
    if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof type !== 'string') throw new ProtocolError('a message is a JSON object with a string "type"');
    if (!MESSAGE_TYPES.includes(type)) {
      const hint = closest(type, MESSAGE_TYPES);
      throw new ProtocolError(`unknown message type "${type.slice(0, 64)}"${hint ? ` (did you mean ${hint}?)` : ''}; expected one of ${MESSAGE_TYPES.join(', ')}`);
    }
    const parsed = clientMessage.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.length ? issue.path.join('.') : (issue as { keys?: string[] }).keys?.join(', ') ?? 'message';
      throw new ProtocolError(`${type}: ${field}: ${issue.message}`);
    }
    return parsed.data;
  }

  /** The channels a subscribe or unsubscribe names, each known; none named: undefined. */
  function named(message: { channel?: string; channels?: string[] }): string[] | undefined {
    if (message.channel !== undefined && message.channels !== undefined) throw new ProtocolError('give either channel or channels, not both');
    const list = message.channels ?? (message.channel !== undefined ? [message.channel] : undefined);
    for (const name of list ?? []) {
      if (byName.has(name)) continue;
      const hint = closest(name, known);
      throw new ProtocolError(`unknown channel "${name}"${hint ? ` (did you mean ${hint}?)` : ''}; known: ${known.join(', ')}`);
    }
    return list && [...new Set(list)];
  }

  function subscribe(conn: Connection, message: Extract<ClientMessage, { type: 'subscribe' }>): void {
    const list = named(message);
    if (!list) throw new ProtocolError('subscribe: name a channel (channel) or several (channels)');
    // Every filter is checked before anything changes: a refused message subscribes nothing.
    const filters = list.map((name) => {
      if (message.filters === undefined) return undefined;
      const channel = byName.get(name)!;
      if (!channel.filters) throw new ProtocolError(`channel ${name} takes no filters`);
      const checked = channel.filters.safeParse(message.filters);
      if (!checked.success) {
        const issue = checked.error.issues[0]!;
        throw new ProtocolError(`filters.${issue.path.join('.') || (issue as { keys?: string[] }).keys?.join(', ')}: ${issue.message}`);
      }
      return checked.data;
    });
    list.forEach((name, i) => {
      // Subscribing again replaces the channel's filters; a socket holds each channel at most once.
      subscribers.get(name)!.set(conn, filters[i]);
      conn.channels.add(name);
    });
    send(conn, { type: 'subscribed', channels: list });
  }

  function unsubscribe(conn: Connection, message: Extract<ClientMessage, { type: 'unsubscribe' }>): void {
    const list = named(message) ?? [...conn.channels];
    for (const name of list) {
      subscribers.get(name)!.delete(conn);
      conn.channels.delete(name);
    }
    send(conn, { type: 'unsubscribed', channels: list });
  }

  async function handle(conn: Connection, raw: RawData, isBinary: boolean): Promise<void> {
    if (conn.socket.readyState !== conn.socket.OPEN) return;
    let message: ClientMessage;
    try {
      message = parse(raw, isBinary);
    } catch (err) {
      if (!conn.principal) return refuse(conn, 'authentication required', 'unreadable first message');
      return send(conn, { type: 'error', message: (err as Error).message });
    }
    if (message.type === 'auth') return authenticate(conn, message.token);
    if (!conn.principal) return refuse(conn, 'authentication required', `${message.type} before auth`);
    try {
      if (message.type === 'subscribe') subscribe(conn, message);
      else if (message.type === 'unsubscribe') unsubscribe(conn, message);
      else send(conn, { type: 'pong', timestamp: deps.clock.now().toISOString() });
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      send(conn, { type: 'error', message: err.message });
    }
  }

  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const closed = deps.runtime.open('ws');
    const conn: Connection = {
      socket,
      ip: request.socket.remoteAddress,
      out: new SendBuffer(
        {
          get bufferedAmount() {
            return socket.bufferedAmount;
          },
          // Text frames, also for the pushes encoded once as UTF-8 buffers.
          send: (message, done) => (socket.readyState === socket.OPEN ? socket.send(message, { binary: false }, done) : done()),
        },
        limits,
      ),
      chain: Promise.resolve(),
      alive: true,
      channels: new Set(),
    };
    connections.add(conn);
    socket.on('error', (err) => deps.logger.debug({ err: err.message }, '/ws socket error'));
    socket.on('pong', () => (conn.alive = true));
    socket.once('close', () => {
      closed();
      connections.delete(conn);
      clearTimeout(conn.authTimer);
      clearTimeout(conn.expiry);
      for (const name of conn.channels) subscribers.get(name)!.delete(conn);
      if (conn.out.dropped) deps.logger.warn({ dropped: conn.out.dropped, ip: conn.ip }, 'a slow /ws reader lost its oldest messages');
      conn.out.close();
    });
    const run = (step: () => Promise<void>) => {
      conn.chain = conn.chain.then(step).catch((err: unknown) => {
        deps.logger.error({ err }, '/ws message handling failed');
        send(conn, { type: 'error', message: 'internal error' });
      });
    };
    socket.on('message', (raw, isBinary) => run(() => handle(conn, raw, isBinary)));
    const token = new URL(request.url ?? '/', 'http://ws.invalid').searchParams.get('token');
    if (token) run(() => authenticate(conn, token));
    else {
      conn.authTimer = setTimeout(() => {
        if (!conn.principal) refuse(conn, 'authentication timeout', `no auth within ${limits.authTimeoutMs} ms`);
      }, limits.authTimeoutMs);
      conn.authTimer.unref();
    }
  });

  function dispatch(event: OpsEvent): void {
    for (const channel of deps.channels) {
      if (!channel.events.some((d) => d.type === event.type)) continue;
      const subs = subscribers.get(channel.name)!;
      if (!subs.size) continue;
      for (const datum of channel.data(event)) {
        // Serialized and encoded once per datum, whatever the number of sockets it goes to.
        let frame: Buffer | undefined;
        for (const [conn, filters] of subs) {
          if (filters !== undefined && channel.matches && !channel.matches(filters, datum)) continue;
          frame ??= Buffer.from(JSON.stringify({ type: channel.push, data: datum }));
          conn.out.push(frame);
        }
      }
    }
  }

  return {
    wss,
    start() {
      const defs = [...new Map(deps.channels.flatMap((c) => c.events).map((d) => [d.type, d])).values()];
      // No event feeds any channel yet: subscribing to none would mean every event.
      if (defs.length && !feed) {
        const it = deps.events.subscribe(defs)[Symbol.asyncIterator]();
        feed = it;
        void (async () => {
          for (let next = await it.next(); !next.done; next = await it.next()) {
            try {
              dispatch(next.value);
            } catch (err) {
              deps.logger.warn({ err: (err as Error).message, type: next.value.type }, '/ws could not push an event');
            }
          }
        })();
      }
      heartbeat = setInterval(() => {
        for (const conn of connections) {
          // No pong since the last ping: the peer is gone (a laptop asleep, a dead NAT entry).
          if (!conn.alive) conn.socket.terminate();
          else {
            conn.alive = false;
            conn.socket.ping();
          }
        }
      }, limits.heartbeatMs);
      heartbeat.unref();
    },
    async close() {
      clearInterval(heartbeat);
      await feed?.return?.();
      const open = wss.clients.size;
      const gone = Promise.all([...wss.clients].map((s) => new Promise<void>((resolve) => (s.readyState === s.CLOSED ? resolve() : (s.once('close', () => resolve()), s.close(CHANNEL_CLOSE.goingAway, 'server shutting down'))))));
      const timedOut = await Promise.race([gone.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 2_000).unref())]);
      if (timedOut) for (const s of wss.clients) s.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      return open;
    },
  };
}

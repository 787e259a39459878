import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import { errorBody } from './envelope.js';
import { AppError } from '../lib/errors.js';

/**
 * Routes WebSocket upgrades by path to `noServer` WebSocket servers. Several `ws` servers given the
 * same HTTP server each see every upgrade, and the one whose path does not match aborts it with
 * 400 before the right one can take it; one router that picks by path avoids that.
 *
 * An upgrade to any other path is answered like any unknown route: a JSON 404.
 */
export function routeUpgrades(http: Server, targets: Readonly<Record<string, WebSocketServer>>): void {
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://upgrade.invalid').pathname;
    } catch {
      path = '';
    }
    const wss = Object.hasOwn(targets, path) ? targets[path] : undefined;
    if (!wss) return refuse(socket, req, path);
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
}

function refuse(socket: Duplex, req: IncomingMessage, path: string): void {
  const body = JSON.stringify(errorBody(new AppError('NOT_FOUND', `no WebSocket endpoint at ${path || req.url}`, { path })));
  socket.on('error', () => undefined);
  socket.end(`HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

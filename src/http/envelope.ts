import type { Response } from 'express';
import { AppError, errorTable, MASKED_MESSAGE, type ErrorDetails } from '../lib/errors.js';

/** The REST envelope of seed 000: `{ success, data | error, metadata: { timestamp, version } }`. */
export const API_VERSION = '3.0.0';

const metadata = () => ({ timestamp: new Date().toISOString(), version: API_VERSION });

export function sendData(res: Response, data: unknown, status = 200, extra?: Record<string, unknown>): void {
  res.status(status).json({ success: true, data, ...extra, metadata: metadata() });
}

export function errorBody(err: AppError): { success: false; error: { code: string; message: string; details?: ErrorDetails }; metadata: ReturnType<typeof metadata> } {
  const masked = err.code === 'INTERNAL';
  return {
    success: false,
    error: {
      code: errorTable[err.code].rest,
      message: masked ? MASKED_MESSAGE : err.message,
      ...(err.details && !masked ? { details: err.details } : {}),
    },
    metadata: metadata(),
  };
}

export function sendError(res: Response, err: AppError): void {
  res.status(err.http).json(errorBody(err));
}

/**
 * Node answers a request it cannot parse (headers too large, malformed) before Express sees it,
 * with a bare status line; this writes the envelope instead, where the socket still allows it.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: import('node:stream').Duplex): void {
  if (!socket.writable || (err as { code?: string }).code === 'ECONNRESET') return void socket.destroy();
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const body = JSON.stringify(
    errorBody(tooLarge ? new AppError('HEADERS_TOO_LARGE', 'request headers are too large') : new AppError('BAD_USER_INPUT', 'malformed HTTP request', { field: 'request' })),
  );
  const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

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

import { pino, type Logger } from 'pino';
import type { Config } from '../config.js';

export type { Logger };

/** JSON lines on stdout, written asynchronously (a request never waits for the terminal); flush before exit. */
export function createLogger(config: Pick<Config, 'LOG_LEVEL'>): Logger {
  return pino(
    {
      level: config.LOG_LEVEL,
      base: { service: 'opsgraph' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Never let a credential reach the log, whatever route it came through.
      redact: ['req.headers.authorization', 'password', '*.password', 'secret', '*.secret'],
    },
    pino.destination({ dest: 1, sync: false }),
  );
}

export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}

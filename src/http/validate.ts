import type { z } from 'zod';
import { AppError } from '../lib/errors.js';

/** Parses REST input with zod; the first problem becomes a 400 naming its field, all of them go in `details.issues`. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, where = 'body'): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ field: i.path.join('.') || where, message: i.message }));
  throw new AppError('BAD_USER_INPUT', `${issues[0]!.field}: ${issues[0]!.message}`, { field: issues[0]!.field, issues: issues.slice(0, 20) });
}

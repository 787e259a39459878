import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { instantProblem } from '../lib/instants.js';
import { fieldPath } from '../lib/field-path.js';
import { closest } from '../lib/suggest.js';


interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
}
const defOf = (schema: z.ZodType) => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The keys an object schema at `path` knows, for suggesting one when a caller misspelt it. */
function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s: z.ZodType | undefined = schema;
  let i = 0;
  while (s) {
    const def = defOf(s);
    if (def.innerType) s = def.innerType;
    else if (def.type === 'pipe') s = def.in;
    else if (i === path.length) return def.shape ? Object.keys(def.shape) : [];
    else if (def.shape) s = def.shape[String(path[i++])];
    else if (def.element) (s = def.element), i++;
    else return [];
  }
  return [];
}

/**
 * Parses REST input with zod (object schemas are strict, so a misspelt key is refused rather than
 * dropped). Every problem becomes an issue naming its field; the first few make the message, the
 * first names `details.field`, and all go in `details.issues`.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, where = 'body'): z.output<S> {
  if (where === 'body' && (input === undefined || input === null || typeof input !== 'object' || Array.isArray(input))) {
    // express.json leaves the body undefined for another content type; an array or a scalar is no body either.
    throw new AppError('BAD_USER_INPUT', 'body: expected a JSON object', { field: 'body' });
  }
  // A key missing from the input says so, instead of zod's "expected string, received undefined".
  const parsed = schema.safeParse(input, { error: (iss) => (iss.input === undefined && iss.code !== 'unrecognized_keys' ? 'required' : undefined) });
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.flatMap((i) => {
    if (i.code !== 'unrecognized_keys') return [{ field: fieldPath(i.path, '') || where, message: i.message }];
    const known = knownKeys(schema, i.path);
    return i.keys.map((key) => {
      const hint = closest(key, known);
      return { field: fieldPath([...i.path, key], ''), message: `unknown field${hint ? `; did you mean ${hint}?` : ''}` };
    });
  });
  const message = issues.slice(0, 3).map((i) => `${i.field}: ${i.message}`).join('; ') + (issues.length > 3 ? `; and ${issues.length - 3} more` : '');
  throw new AppError('BAD_USER_INPUT', message, { field: issues[0]!.field, issues: issues.slice(0, 20) });
}

/** An ISO-8601 instant with its offset, as a Date, inside the window every timestamp must lie in (lib/instants.ts). */
export const isoInstant = z.iso
  .datetime({ offset: true })
  .transform((v) => new Date(v))
  .superRefine((d, ctx) => {
    const problem = instantProblem(d);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/**
 * `at` (or now, when absent) if it lies in the window a field accepts: at most `maxAheadMs` ahead
 * of the server's clock and, with `maxAgeMs`, at most that old; otherwise a 400 naming the field.
 */
export function withinWindow(at: Date | undefined, now: Date, field: string, window: { maxAgeMs?: number; maxAheadMs: number }): Date {
  if (!at) return now;
  if (window.maxAgeMs !== undefined && at.getTime() < now.getTime() - window.maxAgeMs) {
    throw new AppError('BAD_USER_INPUT', `${field} is more than ${Math.round(window.maxAgeMs / 3_600_000)} h old`, { field });
  }
  if (at.getTime() > now.getTime() + window.maxAheadMs) throw new AppError('BAD_USER_INPUT', `${field} is more than ${Math.round(window.maxAheadMs / 1_000)} s in the future`, { field });
  return at;
}

import { accessSync, constants, readFileSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../../config.js';
import type { Logger } from '../../infra/logger.js';
import { fieldPath } from '../../lib/field-path.js';

/** The commands of the ops console (seed 002); a runbook is declared for each one used. */
export const RUNBOOK_COMMANDS = ['start', 'stop', 'restart', 'failover', 'failback', 'drill', 'health_check'] as const;
export type RunbookCommand = (typeof RUNBOOK_COMMANDS)[number];

/** Runbooks that change nothing run beside the others; every other one runs alone in the deployment. */
export const isMutating = (command: RunbookCommand) => command !== 'health_check';

const MAX_SECONDS = 86_400;
/** The built-in health_check's bound, when the file declares no health_check of its own. */
const BUILT_IN_HEALTH_TIMEOUT_SECONDS = 30;

/** An absolute path, or a bare program name looked up in PATH: never a path relative to wherever the server runs. */
const program = z
  .string()
  .min(1)
  .max(4_096)
  .refine((p) => path.isAbsolute(p) || /^[A-Za-z0-9._+-]+$/.test(p), 'the program must be an absolute path or a bare name found in PATH');
const argument = z.string().max(4_096).refine((a) => !a.includes('\0'), 'no NUL characters');

const step = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'letters, digits, "_", "." and "-", at most 64'),
  run: z
    .array(argument, { error: 'an argv list such as ["/usr/bin/echo", "hi"] (no shell)' })
    .min(1, 'an argv list: at least the program')
    .max(256)
    .superRefine((argv, ctx) => {
      const problem = argv.length ? program.safeParse(argv[0]).error?.issues[0]?.message : undefined;
      if (problem) ctx.addIssue({ code: 'custom', path: [0], message: problem });
    }),
  timeout_seconds: z.number().int().min(1).max(MAX_SECONDS).optional(),
  continue_on_error: z.boolean().default(false),
});

const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'upper-case letters, digits and "_"').refine((n) => !n.startsWith('OPSGRAPH_'), 'OPSGRAPH_* is set by the runner');

const runbook = z
  .strictObject({
    description: z.string().max(500).optional(),
    timeout_seconds: z.number().int().min(1).max(MAX_SECONDS).default(300),
    requires_enforce: z.boolean().default(false),
    /** Extra environment of every step, declared here (never taken from a request). */
    env: z.record(envName, z.string().max(4_096)).optional(),
    steps: z.array(step).min(1).max(100),
  })
  .superRefine((r, ctx) => {
    const seen = new Set<string>();
    r.steps.forEach((s, i) => {
      if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: ['steps', i, 'name'], message: `step name ${s.name} is used twice` });
      seen.add(s.name);
    });
  });

const fileSchema = z.strictObject({
  runbooks: z.partialRecord(z.enum(RUNBOOK_COMMANDS), runbook),
});

export interface RunbookStep {
  name: string;
  argv: string[];
  timeoutSeconds: number;
  continueOnError: boolean;
}

export interface RunbookDefinition {
  command: RunbookCommand;
  description: string | null;
  timeoutSeconds: number;
  requiresEnforce: boolean;
  env: Record<string, string>;
  steps: RunbookStep[];
  /** The built-in health_check with no steps of the file's. */
  builtIn: boolean;
  /** Where the steps run: the runbooks file's directory. */
  cwd: string;
}

export type RunbookSet = ReadonlyMap<RunbookCommand, RunbookDefinition>;

/** A runbooks file that cannot be used, with where: `<file>: line L, column C: <key path>: <problem>`. */
export class RunbookFileError extends ConfigError {}

/** The YAML node at `keys` (as deep as it exists), for the line of a problem; an unknown key points at the key itself. */
function rangeAt(doc: Document, keys: readonly PropertyKey[], atKey = false): [number, number] | undefined {
  let node: unknown = doc.contents;
  let range = (node as { range?: [number, number] } | null)?.range;
  for (const [i, k] of keys.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === k);
      if (!pair) break;
      range = (pair.key as { range?: [number, number] }).range ?? range;
      if (atKey && i === keys.length - 1) return range;
      node = pair.value;
    } else if (isSeq(node) && typeof k === 'number') {
      node = node.items[k];
    } else break;
    range = (node as { range?: [number, number] } | null)?.range ?? range;
  }
  return range;
}

/** The built-in health_check: no steps, the checks are the runner's (see runbooks.health.ts). */
const builtInHealthCheck = (cwd: string): RunbookDefinition => ({
  command: 'health_check',
  description: 'Built in: PostgreSQL, Redis and fleet coverage',
  timeoutSeconds: BUILT_IN_HEALTH_TIMEOUT_SECONDS,
  requiresEnforce: false,
  env: {},
  steps: [],
  builtIn: true,
  cwd,
});

/**
 * Parses and validates a runbooks file's text. Every problem names its line and key; the first
 * few make the message. The built-in health_check is always there.
 */
export function parseRunbooks(text: string, file: string): RunbookSet {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const where = (offset: number | undefined) => {
    if (offset === undefined) return '';
    const { line, col } = lineCounter.linePos(offset);
    return ` line ${line}, column ${col}:`;
  };
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw new RunbookFileError(`${file}:${where(e.pos[0])} ${e.message.split('\n')[0]}`);
  }
  const parsed = fileSchema.safeParse(doc.toJS() ?? {}, { error: (iss) => (iss.input === undefined && iss.code !== 'unrecognized_keys' ? 'required' : undefined) });
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap((i) => {
      const keys = i.code === 'unrecognized_keys' ? i.keys.map((k) => [...i.path, k]) : [i.path];
      // A bad key of a record (env) says why the key is bad, at the key.
      const message = i.code === 'unrecognized_keys' ? 'unknown key' : i.code === 'invalid_key' ? (i.issues[0]?.message ?? i.message) : i.message;
      const atKey = i.code === 'unrecognized_keys' || i.code === 'invalid_key';
      return keys.map((k) => `${file}:${where(rangeAt(doc, k, atKey)?.[0])} ${fieldPath(k, '') || '(top)'}: ${message}`);
    });
    throw new RunbookFileError(problems.slice(0, 3).join('; ') + (problems.length > 3 ? `; and ${problems.length - 3} more` : ''));
  }
  const cwd = path.dirname(path.resolve(file));
  const set = new Map<RunbookCommand, RunbookDefinition>();
  for (const command of RUNBOOK_COMMANDS) {
    const r = parsed.data.runbooks[command];
    if (!r) continue;
    set.set(command, {
      command,
      description: r.description ?? null,
      timeoutSeconds: r.timeout_seconds,
      requiresEnforce: r.requires_enforce,
      env: r.env ?? {},
      steps: r.steps.map((s) => ({ name: s.name, argv: [...s.run], timeoutSeconds: Math.min(s.timeout_seconds ?? r.timeout_seconds, r.timeout_seconds), continueOnError: s.continue_on_error })),
      builtIn: false,
      cwd,
    });
  }
  if (!set.has('health_check')) set.set('health_check', builtInHealthCheck(cwd));
  return set;
}

/** Programs of a set that cannot be found or run now (they may be deployed later: a warning, not an error). */
export function missingPrograms(set: RunbookSet, pathEnv = process.env.PATH ?? ''): string[] {
  const missing = new Set<string>();
  for (const def of set.values()) {
    for (const s of def.steps) if (!resolveProgram(s.argv[0]!, pathEnv)) missing.add(s.argv[0]!);
  }
  return [...missing];
}

/** The executable a step's program names: itself when absolute, else the first match in PATH; null when none. */
export function resolveProgram(name: string, pathEnv: string): string | null {
  const candidates = path.isAbsolute(name) ? [name] : pathEnv.split(path.delimiter).filter((d) => path.isAbsolute(d)).map((d) => path.join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not there or not executable: the next one
    }
  }
  return null;
}

export interface RunbookCatalog {
  current(): RunbookSet;
  /** Reads the file again; a bad file keeps the definitions in use and answers the error. */
  reload(reason: string): { ok: true } | { ok: false; error: string };
  /** Re-reads on SIGHUP and when the file changes, until `close`. */
  watch(): void;
  close(): void;
}

const RELOAD_DEBOUNCE_MS = 200;

/**
 * The runbooks in use: read once at start (a bad file throws RunbookFileError, which stops the
 * server with its line), then again on SIGHUP or a change of the file. Editors and deploy tools
 * replace files by renaming, so the directory is watched and events are debounced.
 */
export function createRunbookCatalog(file: string | undefined, logger: Logger): RunbookCatalog {
  const read = (): RunbookSet => {
    if (!file) return new Map([['health_check', builtInHealthCheck(process.cwd())]]);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new RunbookFileError(`RUNBOOKS_FILE ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    return parseRunbooks(text, file);
  };
  let set = read();
  const warnMissing = (s: RunbookSet) => {
    const missing = missingPrograms(s);
    if (missing.length) logger.warn({ file, programs: missing }, 'runbook programs not found or not executable (a run of them will fail)');
  };
  warnMissing(set);

  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  const onHangup = () => void catalog.reload('SIGHUP');

  const catalog: RunbookCatalog = {
    current: () => set,
    reload(reason) {
      try {
        set = read();
        warnMissing(set);
        logger.info({ file, reason, runbooks: [...set.keys()] }, 'runbooks reloaded');
        return { ok: true };
      } catch (err) {
        logger.error({ file, reason, err: (err as Error).message }, 'runbooks file not reloaded: keeping the definitions in use');
        return { ok: false, error: (err as Error).message };
      }
    },
    watch() {
      process.on('SIGHUP', onHangup);
      if (!file) return;
      const dir = path.dirname(path.resolve(file));
      const base = path.basename(file);
      try {
        watcher = watch(dir, { persistent: false }, (_event, name) => {
          if (name !== null && name !== base) return;
          clearTimeout(timer);
          timer = setTimeout(() => catalog.reload('file changed'), RELOAD_DEBOUNCE_MS);
          timer.unref();
        });
        watcher.on('error', (err) => logger.warn({ file, err: err.message }, 'watching the runbooks file failed; SIGHUP still reloads it'));
      } catch (err) {
        logger.warn({ file, err: (err as Error).message }, 'cannot watch the runbooks file; SIGHUP still reloads it');
      }
    },
    close() {
      process.off('SIGHUP', onHangup);
      clearTimeout(timer);
      watcher?.close();
      watcher = undefined;
    },
  };
  return catalog;
}

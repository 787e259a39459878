import { spawn } from 'node:child_process';
import { createLineSplitter, type LogCollector } from '../../lib/log-lines.js';
import { resolveProgram, type RunbookDefinition, type RunbookStep } from './runbooks.definitions.js';

/** How a run of steps ended. `timeout` and `error` are runs that could not be executed to their end. */
export type StepsOutcome =
  | { status: 'success'; exitCode: 0 }
  | { status: 'failed'; exitCode: number }
  | { status: 'timeout' | 'error'; exitCode: number; detail: string };

/** Exit codes of the shell conventions, for what never produced one: timed out (as timeout(1)), not found. */
export const EXIT_TIMEOUT = 124;
export const EXIT_NOT_RUNNABLE = 127;

/** The part of the server's environment a step inherits: enough to run programs, none of its secrets. */
const INHERITED_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'USER'] as const;

export function stepEnvironment(def: RunbookDefinition, request: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of INHERITED_ENV) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  env.PATH ??= '/usr/local/bin:/usr/bin:/bin';
  return { ...env, ...def.env, ...request };
}

interface StepResult {
  exitCode: number;
  /** Why it ended without an exit code of its own. */
  problem?: { status: 'timeout' | 'error'; detail: string };
}

const signalNumber: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/** Signals a whole process group; a group that is gone already is no error. */
function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

const groupAlive = (pid: number) => signalGroup(pid, 0);

/**
 * Runs one step: its argv without a shell, in a process group of its own (detached), so a timeout
 * ends the program and everything it started: SIGTERM to the group, SIGKILL `graceMs` later if any
 * of it is still there. The step ends when its program has exited and its output is closed.
 */
function runStep(step: RunbookStep, def: RunbookDefinition, env: Record<string, string>, logs: LogCollector, limitMs: number, graceMs: number, runbookDeadline: boolean): Promise<StepResult> {
  const executable = resolveProgram(step.argv[0]!, env.PATH ?? '');
  if (!executable) {
    return Promise.resolve({ exitCode: EXIT_NOT_RUNNABLE, problem: { status: 'error', detail: `step ${step.name}: program ${step.argv[0]} not found or not executable` } });
  }
  return new Promise((resolve) => {
    const child = spawn(executable, step.argv.slice(1), { detached: true, shell: false, env, cwd: def.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = child.pid;
    let timedOut = false;
    let termAt = 0;
    // SIGKILL went to the group: what is left of it are zombies, dead but not yet reaped.
    let killed = false;
    let settled = false;
    const out = createLineSplitter((l) => logs.output('INFO', l, step.name));
    const err = createLineSplitter((l) => logs.output('WARN', l, step.name));
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    let killTimer: NodeJS.Timeout | undefined;
    const timeoutResult = (): StepResult => ({
      exitCode: EXIT_TIMEOUT,
      problem: {
        status: 'timeout',
        detail: runbookDeadline ? `runbook ${def.command} exceeded its timeout of ${def.timeoutSeconds} s in step ${step.name}` : `step ${step.name} exceeded its timeout of ${step.timeoutSeconds} s`,
      },
    });
    const timer = setTimeout(() => {
      timedOut = true;
      termAt = Date.now();
      if (pid === undefined) return;
      logs.note('ERROR', `step ${step.name} ran past ${Math.round(limitMs / 1000)} s: SIGTERM to its process group`, step.name);
      signalGroup(pid, 'SIGTERM');
      killTimer = setTimeout(() => {
        killed = true;
        if (signalGroup(pid, 'SIGKILL')) logs.note('ERROR', `step ${step.name}: SIGKILL to its process group after ${graceMs} ms`, step.name);
        // A process that left the group (setsid) may still hold the output open: stop reading it.
        killTimer = setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
          void finish(timeoutResult());
        }, 1_000);
      }, graceMs);
    }, limitMs);
    const finish = async (result: StepResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      out.end();
      err.end();
      // After a timeout the answer waits until the group is gone (or has had its SIGKILL), so no
      // process of the step outlives the run it belongs to.
      if (timedOut && pid !== undefined && !killed) {
        while (groupAlive(pid) && Date.now() < termAt + graceMs) await new Promise((r) => setTimeout(r, 20));
        if (groupAlive(pid)) signalGroup(pid, 'SIGKILL');
      }
      clearTimeout(killTimer);
      resolve(result);
    };
    child.on('error', (e: NodeJS.ErrnoException) => void finish({ exitCode: EXIT_NOT_RUNNABLE, problem: { status: 'error', detail: `step ${step.name}: cannot run ${step.argv[0]}: ${e.code ?? e.message}` } }));
    child.on('close', (code, signal) => {
      if (timedOut) return void finish(timeoutResult());
      void finish({ exitCode: code ?? 128 + (signal ? (signalNumber[signal] ?? 0) : 0) });
    });
  });
}

/**
 * Runs a runbook's steps in order within its timeout. The run's exit code is the first failing
 * step's; a step with `continue_on_error` may fail (or time out) without failing the run. A
 * timeout of the runbook itself, a step's timeout or a program that cannot run ends the run there.
 */
export async function runSteps(def: RunbookDefinition, env: Record<string, string>, logs: LogCollector, graceMs: number): Promise<StepsOutcome> {
  const deadline = Date.now() + def.timeoutSeconds * 1_000;
  for (const step of def.steps) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      const detail = `runbook ${def.command} exceeded its timeout of ${def.timeoutSeconds} s before step ${step.name}`;
      logs.note('ERROR', detail, step.name);
      return { status: 'timeout', exitCode: EXIT_TIMEOUT, detail };
    }
    const stepMs = step.timeoutSeconds * 1_000;
    const limitMs = Math.min(stepMs, remaining);
    logs.note('INFO', `step ${step.name}: ${step.argv.join(' ')}`, step.name);
    const started = performance.now();
    const result = await runStep(step, def, env, logs, limitMs, graceMs, limitMs < stepMs);
    const ms = Math.round(performance.now() - started);
    if (result.problem) {
      logs.note('ERROR', result.problem.detail, step.name);
      // The runbook's own deadline ends the run whatever the step allows.
      if (step.continueOnError && !(result.problem.status === 'timeout' && limitMs < stepMs)) {
        logs.note('WARN', `step ${step.name} did not complete (continue_on_error): going on`, step.name);
        continue;
      }
      return { status: result.problem.status, exitCode: result.exitCode, detail: result.problem.detail };
    }
    if (result.exitCode !== 0) {
      if (step.continueOnError) {
        logs.note('WARN', `step ${step.name} exited with ${result.exitCode} after ${ms} ms (continue_on_error): going on`, step.name);
        continue;
      }
      logs.note('ERROR', `step ${step.name} exited with ${result.exitCode} after ${ms} ms`, step.name);
      return { status: 'failed', exitCode: result.exitCode };
    }
    logs.note('INFO', `step ${step.name} exited with 0 after ${ms} ms`, step.name);
  }
  return { status: 'success', exitCode: 0 };
}

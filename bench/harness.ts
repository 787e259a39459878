import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** What every `bench/<name>.bench.ts` default-exports, and what `bench/run.ts` hands it. */
export interface BenchContext {
  /** Seconds per measurement (`BENCH_DURATION`, default 4). */
  durationSec: number;
  /**
   * How many times each measurement is repeated (`BENCH_ROUNDS`, default 3). On a shared machine
   * a single measurement varies by tens of percent; figures are medians across rounds.
   */
  rounds: number;
  /** Human-readable progress and results; stdout, before the final JSON line. */
  log(line: string): void;
}

export interface BenchResult {
  /** Absolute numbers: machine-specific, e.g. `bare.trivial.rps`. */
  figures: Record<string, number>;
  /** Relative numbers: what carries over between machines, e.g. `opsgraph_vs_apollo.trivial`. */
  ratios: Record<string, number>;
}

export interface Bench {
  description: string;
  /** Upper bound on the whole run for a given measurement length; the runner aborts past it. */
  budgetSec(durationSec: number, rounds: number): number;
  run(ctx: BenchContext): Promise<BenchResult>;
}

export const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

/** Middle value (mean of the two middle ones for an even count): one disturbed round cannot move it. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Left-aligned first column, right-aligned others. */
export function table(rows: (string | number)[][]): string[] {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toLocaleString('en-US') : c)));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
}

/** Stops a bench child: SIGTERM, then SIGKILL if it has not gone within 5 s. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** What every `bench/<name>.bench.ts` default-exports, and what `bench/run.ts` hands it. */
export interface BenchContext {
  /** Seconds per measurement (`BENCH_DURATION`, default 5). */
  durationSec: number;
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
  budgetSec(durationSec: number): number;
  run(ctx: BenchContext): Promise<BenchResult>;
}

export const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

/** Left-aligned first column, right-aligned others. */
export function table(rows: (string | number)[][]): string[] {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toLocaleString('en-US') : c)));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
}

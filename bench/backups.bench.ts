/**
 * Server-run backups on a generated tree (5,000 files, 200 MB: half compressible text, half random
 * bytes, sizes spread from 1 KB to a few MB, deterministic): a full backup at gzip level 6 against
 * `tar -czf` (gzip -6) of the same tree in the same run; an incremental after 1 % of the files
 * changed, against the full's time; deep verification (archive checksum and every entry's sha256)
 * and restore throughput; and the peak RSS of the process making the backup, for a 50 MB and a
 * 200 MB tree of the same 5,000 files. Each operation runs in a child process of its own
 * (bench/backups.worker.ts) so that its peak RSS is its own. Figures are medians of BENCH_ROUNDS.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile, appendFile, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { median, round, table, type Bench, type BenchContext, type BenchResult } from './harness.js';

const FILES = 5_000;
const LEVEL = 6;
const MB = 1024 * 1024;
const run = promisify(execFile);

/** A small deterministic PRNG (mulberry32): the same tree every run. */
function prng(seed: number) {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = 'backup restore verify service incident latency cluster node replica gzip tar archive manifest checksum'.split(' ');

/** `files` files totalling about `totalBytes`, in 50 directories. */
async function generate(dir: string, totalBytes: number): Promise<number> {
  const rand = prng(42);
  // Weights with a long tail: most files small, a few large.
  const weights = Array.from({ length: FILES }, () => Math.pow(rand(), 3) + 0.01);
  const sum = weights.reduce((a, b) => a + b, 0);
  let written = 0;
  for (let i = 0; i < FILES; i++) {
    const size = Math.max(256, Math.round((weights[i]! / sum) * totalBytes));
    const sub = path.join(dir, `d${i % 50}`);
    if (i < 50) await mkdir(sub, { recursive: true });
    let body: Buffer;
    if (i % 2 === 0) {
      const parts: string[] = [];
      let n = 0;
      while (n < size) {
        const line = `${new Date(1_700_000_000_000 + n * 1000).toISOString()} ${WORDS[Math.floor(rand() * WORDS.length)]} id=${Math.floor(rand() * 1e6)} ok\n`;
        parts.push(line);
        n += line.length;
      }
      body = Buffer.from(parts.join('')).subarray(0, size);
    } else {
      body = Buffer.alloc(size);
      for (let j = 0; j < size; j += 4) body.writeUInt32LE(Math.floor(rand() * 4294967296), Math.min(j, size - 4));
    }
    await writeFile(path.join(sub, `f${i}.${i % 2 === 0 ? 'log' : 'bin'}`), body);
    written += size;
  }
  return written;
}

interface Outcome {
  ms: number;
  bytes: number;
  files: number;
  maxRssMb: number;
}

function child(op: string, args: Record<string, unknown>): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', '@oxc-node/core/register', 'bench/backups.worker.ts', op, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as Outcome) : reject(new Error(`${op} exited with ${code}`))));
  });
}

async function tarCzf(source: string, out: string): Promise<number> {
  const t0 = performance.now();
  await run('tar', ['--use-compress-program', `gzip -${LEVEL}`, '-cf', out, '-C', path.dirname(source), path.basename(source)]);
  return performance.now() - t0;
}

const bench: Bench = {
  description: 'server-run backups: full vs tar -czf, incremental after 1 % changed, deep verify, restore, peak RSS at 50 and 200 MB',
  budgetSec: (_d, rounds) => 120 + rounds * 90,
  async run(ctx: BenchContext): Promise<BenchResult> {
    const root = await mkdtemp(path.join(tmpdir(), 'opsgraph-bench-backups-'));
    try {
      const trees: Record<string, { source: string; bytes: number }> = {};
      for (const [name, size] of [['small', 50 * MB], ['large', 200 * MB]] as const) {
        const source = path.join(root, name, 'data');
        await mkdir(source, { recursive: true });
        const t0 = performance.now();
        trees[name] = { source, bytes: await generate(source, size) };
        ctx.log(`generated ${name}: ${FILES} files, ${round(trees[name]!.bytes / MB, 1)} MB in ${round((performance.now() - t0) / 1000, 1)} s`);
      }
      const large = trees.large!;
      const file = (n: string) => path.join(root, n);
      const fulls: Outcome[] = [];
      const tars: number[] = [];
      for (let r = 0; r < ctx.rounds; r++) {
        // Alternated in each round, so that both see the same state of the page cache and the machine.
        await rm(file('full.tar.gz'), { force: true });
        fulls.push(await child('full', { source: large.source, file: file('full.tar.gz'), level: LEVEL, manifest: file('full.json') }));
        tars.push(await tarCzf(large.source, file('gnu.tar.gz')));
        ctx.log(`round ${r + 1}: opsgraph full ${round(fulls[r]!.ms)} ms, tar -czf ${round(tars[r]!)} ms`);
      }
      const fullMs = median(fulls.map((f) => f.ms));
      const tarMs = median(tars);
      const fullSize = (await stat(file('full.tar.gz'))).size;
      const tarSize = (await stat(file('gnu.tar.gz'))).size;

      // 1 % of the files change (appended to, mtime moved).
      for (let i = 0; i < FILES; i += 100) {
        const f = path.join(large.source, `d${i % 50}`, `f${i}.${i % 2 === 0 ? 'log' : 'bin'}`);
        await appendFile(f, 'changed\n');
        await utimes(f, new Date(), new Date(Date.now() + 10_000));
      }
      const incs: Outcome[] = [];
      for (let r = 0; r < ctx.rounds; r++) {
        await rm(file('inc.tar.gz'), { force: true });
        incs.push(await child('incremental', { source: large.source, file: file('inc.tar.gz'), level: LEVEL, manifest: file('inc.json'), prior: file('full.json') }));
      }
      const incMs = median(incs.map((o) => o.ms));

      const verifies: Outcome[] = [];
      const restores: Outcome[] = [];
      for (let r = 0; r < ctx.rounds; r++) {
        verifies.push(await child('verify', { source: large.source, file: file('full.tar.gz'), level: LEVEL, manifest: file('full.json') }));
        const target = file(`restore-${r}`);
        await mkdir(target);
        restores.push(await child('restore', { source: large.source, file: file('full.tar.gz'), level: LEVEL, manifest: file('full.json'), target }));
        await rm(target, { recursive: true, force: true });
      }
      const verifyMs = median(verifies.map((o) => o.ms));
      const restoreMs = median(restores.map((o) => o.ms));

      const small = await child('full', { source: trees.small!.source, file: file('small.tar.gz'), level: LEVEL, manifest: file('small.json') });
      const rssLarge = median(fulls.map((f) => f.maxRssMb));

      const mbps = (bytes: number, ms: number) => round(bytes / MB / (ms / 1000), 1);
      const figures = {
        'tree.files': FILES,
        'tree.mb': round(large.bytes / MB, 1),
        'full.ms': round(fullMs, 0),
        'full.mb_per_s': mbps(large.bytes, fullMs),
        'full.archive_mb': round(fullSize / MB, 1),
        'tar_czf.ms': round(tarMs, 0),
        'tar_czf.mb_per_s': mbps(large.bytes, tarMs),
        'tar_czf.archive_mb': round(tarSize / MB, 1),
        'incremental.ms': round(incMs, 0),
        'incremental.files': incs[0]!.files,
        'verify_deep.mb_per_s': mbps(large.bytes, verifyMs),
        'restore.mb_per_s': mbps(large.bytes, restoreMs),
        'rss_peak_mb.50mb_tree': round(small.maxRssMb, 1),
        'rss_peak_mb.200mb_tree': round(rssLarge, 1),
      };
      const ratios = {
        // Per round, side by side, then the median: one disturbed round cannot move it.
        full_vs_tar_czf: round(median(fulls.map((f, i) => tars[i]! / f.ms)), 2),
        incremental_vs_full_time: round(incMs / fullMs, 3),
        rss_200mb_vs_50mb: round(rssLarge / small.maxRssMb, 2),
      };
      for (const line of table([
        ['measure', 'value'],
        ...Object.entries(figures).map(([k, v]) => [k, v]),
        ...Object.entries(ratios).map(([k, v]) => [k, v]),
      ]))
        ctx.log(line);
      ctx.log(`goals: full_vs_tar_czf >= 0.8, incremental_vs_full_time < 0.1, peak RSS < 200 MB and flat`);
      return { figures, ratios };
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  },
};

export default bench;

/**
 * One archive operation of the backups bench, in a process of its own so that its peak RSS is its
 * own: `full|incremental|verify|restore <json>`. Prints one JSON line: elapsed ms, bytes, maxRSS.
 * The archive code is the server's (src/modules/backups/backups.archive.ts); the manifest is kept
 * in a JSON file instead of PostgreSQL.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { excludeMatcher, extractArchive, readEntries, sha256Of, writeArchive, type ManifestEntry, type PriorEntry } from '../src/modules/backups/backups.archive.js';

interface Args {
  source: string;
  file: string;
  level: number;
  manifest: string;
  prior?: string;
  target?: string;
}

async function main() {
  const [op, raw] = process.argv.slice(2);
  const a = JSON.parse(raw!) as Args;
  const t0 = performance.now();
  let bytes = 0;
  let files = 0;
  if (op === 'full' || op === 'incremental') {
    const entries: ManifestEntry[] = [];
    let prior: Map<string, PriorEntry> | undefined;
    if (op === 'incremental') {
      const before = JSON.parse(await readFile(a.prior!, 'utf8')) as ManifestEntry[];
      prior = new Map(before.map((e) => [e.path, { kind: e.kind, size: e.size, mtimeMs: new Date(e.mtime).getTime(), mode: e.mode }]));
    }
    const s = await writeArchive({ sources: [a.source], skipDirs: [], exclude: excludeMatcher([]), level: a.level, prior, file: a.file, onEntries: async (b) => void entries.push(...b) });
    bytes = s.originalSize;
    files = s.fileCount;
    await writeFile(a.manifest, JSON.stringify(entries));
  } else if (op === 'verify') {
    const manifest = JSON.parse(await readFile(a.manifest, 'utf8')) as ManifestEntry[];
    await sha256Of(a.file);
    const { entries } = await readEntries(a.file);
    for (const m of manifest) {
      const e = entries.get(m.path);
      if (!e || (m.kind === 'file' && e.sha256 !== m.sha256)) throw new Error(`${m.path} does not match`);
      bytes += m.size;
      if (m.kind === 'file') files++;
    }
  } else if (op === 'restore') {
    const manifest = JSON.parse(await readFile(a.manifest, 'utf8')) as ManifestEntry[];
    const paths = new Set(manifest.map((m) => m.path));
    const o = await extractArchive(a.file, a.target!, paths, paths);
    if (o.errors.length) throw new Error(o.errors.join('; '));
    bytes = o.bytes;
    files = o.files;
  } else {
    throw new Error(`unknown op ${op}`);
  }
  const ms = performance.now() - t0;
  // maxRSS is in KiB.
  process.stdout.write(`${JSON.stringify({ ms, bytes, files, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});

import { createHash } from 'node:crypto';
import { close, constants, createReadStream, createWriteStream, fstat, lstatSync, open, read, type Stats } from 'node:fs';
import { lstat, readdir, realpath } from 'node:fs/promises';
import { promisify } from 'node:util';
import path from 'node:path';
import { Transform } from 'node:stream';
import { createGzip, type ZlibOptions } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Header, Pack, ReadEntry, extract, list } from 'tar';
import picomatch from 'picomatch';
import { isWithin, normalEntryPath, unsafeEntryPath } from '../../lib/backups.js';

/**
 * The archives themselves: writing a tar.gz of the configured sources while hashing every file as
 * it is read (one read per file, never a whole file in memory), checking one, and unpacking one
 * under a target it cannot leave. Knows nothing of records or the database.
 */

export type EntryKind = 'file' | 'dir';

/** One row of a manifest: an entry an archive holds, or (incremental) a path deleted since the parent. */
export interface ManifestEntry {
  path: string;
  kind: EntryKind;
  size: number;
  mode: number;
  mtime: Date;
  sha256: string | null;
  deleted: boolean;
}

/** What the parent chain knew of a path, to tell whether it changed. */
export interface PriorEntry {
  kind: EntryKind;
  size: number;
  mtimeMs: number;
  mode: number;
}

export interface ArchiveSummary {
  fileCount: number;
  originalSize: number;
  compressedSize: number;
  checksum: string;
  /** Files that changed size while they were read (their manifest hash is of what was archived). */
  unsteady: string[];
  /** Symbolic links and special files found in the sources, which are never archived. */
  skipped: string[];
}

/**
 * `exclude` globs against the path inside a source. A pattern without `/` matches a name at any
 * depth (as .gitignore does); one with `/` matches from the source's root. A directory that
 * matches is skipped with everything under it.
 */
export function excludeMatcher(patterns: readonly string[]): (relPath: string) => boolean {
  if (!patterns.length) return () => false;
  const matchers = patterns.map((p) => {
    const anchored = p.includes('/') && !p.endsWith('/') ? p.replace(/^\//, '') : null;
    const name = p.replace(/\/$/, '');
    return anchored ? picomatch(anchored, { dot: true }) : picomatch(name, { dot: true, basename: !name.includes('/') });
  });
  return (rel) => matchers.some((m) => m(rel));
}

const CHUNK = 256 * 1024;

// Plain descriptors rather than fs/promises FileHandles: a FileHandle per file costs more than the
// reading of a small one.
const openFd = promisify(open);
const fstatFd = promisify(fstat);
const closeFd = promisify(close);
const readFd = (fd: number, buf: Buffer, offset: number, length: number, position: number) =>
  new Promise<number>((resolve, reject) => read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))));
/** Files opened (and, when small, read) ahead of the one being archived. */
const READ_AHEAD = 16;
const GZIP_SLACK = 4 * 1024 * 1024;

/** Writes `chunk` to an entry, waiting while the archive behind it is busy (backpressure, so memory stays flat). */
async function feed(entry: ReadEntry, chunk: Buffer): Promise<void> {
  if (!entry.write(chunk)) await new Promise<void>((resolve) => entry.once('drain', resolve));
}

export interface WriteArchiveOptions {
  sources: readonly string[];
  /** Absolute directories never archived, even inside a source (the backup and restore directories). */
  skipDirs: readonly string[];
  exclude: (relPath: string) => boolean;
  level: number;
  /** Incremental: the tree as of the parent; only what changed since goes in, and deletions are recorded. */
  prior?: Map<string, PriorEntry>;
  /** Where to write (a temporary name; the caller renames it when this resolves). */
  file: string;
  /** Manifest rows, a batch at a time, as entries are archived. */
  onEntries: (batch: ManifestEntry[]) => Promise<void>;
  /** Called between files: a run that must stop throws from here. */
  checkpoint?: () => void;
}

export async function writeArchive(o: WriteArchiveOptions): Promise<ArchiveSummary> {
  // tar builds the stream; node:zlib compresses it on libuv's thread pool, beside the reading and hashing here.
  const pack = new Pack({ portable: true });
  // A few MB of slack before the archive pushes back, so reading runs ahead while zlib compresses.
  const gzip = createGzip({ level: o.level, chunkSize: 64 * 1024, writableHighWaterMark: GZIP_SLACK } as ZlibOptions);
  const archiveHash = createHash('sha256');
  let compressedSize = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      archiveHash.update(chunk);
      compressedSize += chunk.length;
      cb(null, chunk);
    },
  });
  // flush: the data is on disk before the caller renames the file into place.
  const written = pipeline(gzip, counter, createWriteStream(o.file, { flags: 'wx', mode: 0o600, flush: true }));
  // Awaited on success; on failure the walk's own error is the one reported.
  written.catch(() => undefined);
  const packFailed = new Promise<never>((_, reject) => pack.on('error', reject));
  packFailed.catch(() => undefined);
  pack.pipe(gzip);

  const summary = { fileCount: 0, originalSize: 0, unsteady: [] as string[], skipped: [] as string[] };
  const skip = new Set(await Promise.all(o.skipDirs.map((d) => realpath(d).catch(() => d))));
  const seen = o.prior ? new Set<string>() : null;
  let batch: ManifestEntry[] = [];
  const record = async (e: ManifestEntry) => {
    batch.push(e);
    if (batch.length >= 1_000) {
      const full = batch;
      batch = [];
      await o.onEntries(full);
    }
  };

  async function addDir(name: string, mode: number, mtime: Date) {
    const entry = new ReadEntry(new Header({ path: `${name}/`, type: 'Directory', mode, size: 0, mtime }));
    pack.add(entry);
    entry.end();
    await record({ path: name, kind: 'dir', size: 0, mode, mtime, sha256: null, deleted: false });
  }

  /**
   * A file opened (O_NOFOLLOW, then fstat: what is read is the regular file that was listed, not
   * what a link now points to) and, when it is at most one chunk, read. Several are prepared ahead
   * of the one being archived, so the file system's latency overlaps with compression.
   */
  type Prepared =
    | { name: string; state: 'gone' | 'skipped' | 'unchanged' }
    | { name: string; state: 'read'; st: Stats; data: Buffer; handle?: undefined }
    | { name: string; state: 'open'; st: Stats; fd: number; data?: undefined };

  async function prepare(abs: string, name: string): Promise<Prepared> {
    const fd = await openFd(abs, constants.O_RDONLY | constants.O_NOFOLLOW).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return 'gone' as const; // gone since the listing
      if (err.code === 'ELOOP') return 'skipped' as const; // it became a link
      throw err;
    });
    if (typeof fd === 'string') return { name, state: fd };
    let keep = false;
    try {
      const st = await fstatFd(fd);
      if (!st.isFile()) return { name, state: 'skipped' };
      const before = o.prior?.get(name);
      if (before && before.kind === 'file' && before.size === st.size && before.mtimeMs === Math.floor(st.mtimeMs)) return { name, state: 'unchanged' };
      if (st.size > CHUNK) {
        keep = true;
        return { name, state: 'open', st, fd };
      }
      const data = Buffer.allocUnsafe(st.size);
      let pos = 0;
      while (pos < st.size) {
        const bytesRead = await readFd(fd, data, pos, st.size - pos, pos);
        if (bytesRead === 0) break;
        pos += bytesRead;
      }
      return { name, state: 'read', st, data: pos === st.size ? data : data.subarray(0, pos) };
    } finally {
      if (!keep) await closeFd(fd);
    }
  }

  async function addFile(p: Prepared) {
    if (p.state === 'gone') return;
    if (p.state === 'skipped') return void summary.skipped.push(p.name);
    seen?.add(p.name);
    if (p.state === 'unchanged') return;
    const f = p as Extract<Prepared, { state: 'read' | 'open' }>;
    const { st, name } = f;
    const size = st.size;
    const mode = st.mode & 0o7777;
    const mtime = new Date(Math.floor(st.mtimeMs));
    const entry = new ReadEntry(new Header({ path: name, type: 'File', mode, size, mtime }));
    pack.add(entry);
    const hash = createHash('sha256');
    let pos = 0;
    try {
      if (f.state === 'read') {
        hash.update(f.data);
        if (f.data.length) await feed(entry, f.data);
        pos = f.data.length;
      } else {
        while (pos < size) {
          const want = Math.min(CHUNK, size - pos);
          const buf = Buffer.allocUnsafe(want);
          const bytesRead = await readFd(f.fd, buf, 0, want, pos);
          if (bytesRead === 0) break;
          const chunk = bytesRead === want ? buf : buf.subarray(0, bytesRead);
          hash.update(chunk);
          await feed(entry, chunk);
          pos += bytesRead;
        }
        if (pos === size && (await fstatFd(f.fd)).size !== size) summary.unsteady.push(name);
      }
    } finally {
      if (f.state === 'open') await closeFd(f.fd);
    }
    if (pos < size) {
      // The file shrank while it was read: the header promised `size` bytes, so zeros make them up,
      // and the manifest hashes what the archive holds.
      summary.unsteady.push(name);
      const zeros = Buffer.alloc(size - pos);
      hash.update(zeros);
      await feed(entry, zeros);
    }
    entry.end();
    summary.fileCount++;
    summary.originalSize += size;
    await record({ path: name, kind: 'file', size, mode, mtime, sha256: hash.digest('hex'), deleted: false });
  }

  /** Files prepared ahead, in order; at most READ_AHEAD of them (each at most one chunk in memory). */
  const ahead: Promise<Prepared>[] = [];
  async function queueFile(abs: string, name: string) {
    const next = prepare(abs, name);
    next.catch(() => undefined);
    ahead.push(next);
    if (ahead.length >= READ_AHEAD) await addFile(await ahead.shift()!);
  }
  async function drainFiles() {
    while (ahead.length) await addFile(await ahead.shift()!);
  }

  async function walk(dirAbs: string, dirName: string, rel: string) {
    const entries = (await readdir(dirAbs, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const d of entries) {
      o.checkpoint?.();
      const abs = path.join(dirAbs, d.name);
      const relPath = rel ? `${rel}/${d.name}` : d.name;
      const name = `${dirName}/${d.name}`;
      if (o.exclude(relPath)) continue;
      if (d.isFile()) {
        await queueFile(abs, name);
      } else if (d.isDirectory()) {
        if (skip.has(abs)) continue;
        const st = await lstat(abs).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? null : Promise.reject(err)));
        if (!st?.isDirectory()) continue;
        // A directory's entry goes in before anything inside it.
        await drainFiles();
        seen?.add(name);
        const before = o.prior?.get(name);
        if (!before || before.kind !== 'dir') await addDir(name, st.mode & 0o7777, new Date(Math.floor(st.mtimeMs)));
        await walk(abs, name, relPath);
      } else {
        summary.skipped.push(name);
      }
    }
  }

  try {
    await Promise.race([
      (async () => {
        for (const configured of o.sources) {
          // Walked by its real path, so a link on the way to it cannot hide BACKUP_DIR from the skip list.
          const source = await realpath(configured).catch(() => configured);
          const st = await lstat(source).catch(() => null);
          if (!st?.isDirectory()) throw new Error(`backup source ${configured} is not a directory`);
          const top = path.basename(configured);
          seen?.add(top);
          const before = o.prior?.get(top);
          if (!before || before.kind !== 'dir') await addDir(top, st.mode & 0o7777, new Date(Math.floor(st.mtimeMs)));
          await walk(source, top, '');
          await drainFiles();
        }
        if (o.prior && seen) {
          for (const [name, before] of o.prior) {
            if (!seen.has(name)) await record({ path: name, kind: before.kind, size: 0, mode: before.mode, mtime: new Date(before.mtimeMs), sha256: null, deleted: true });
          }
        }
        if (batch.length) await o.onEntries(batch);
        pack.end();
        await written;
      })(),
      packFailed,
    ]);
  } catch (err) {
    gzip.destroy();
    // Files opened ahead are closed; their errors, if any, no longer matter.
    for (const p of await Promise.allSettled(ahead)) if (p.status === 'fulfilled' && p.value.state === 'open') await closeFd(p.value.fd);
    throw err;
  }
  return { ...summary, compressedSize, checksum: archiveHash.digest('hex') };
}

/** The sha256 of a file, streamed. */
export async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Reads every entry of an archive, hashing file contents: what deep verification compares with the manifest. */
export async function readEntries(file: string): Promise<{ entries: Map<string, { kind: string; size: number; sha256: string | null }>; problems: string[] }> {
  const entries = new Map<string, { kind: string; size: number; sha256: string | null }>();
  const problems: string[] = [];
  await list({
    file,
    strict: false,
    onwarn: (_code: string, message: string) => void problems.push(message),
    onReadEntry: (entry: ReadEntry) => {
      const name = normalEntryPath(entry.path);
      if (entry.type !== 'File' && entry.type !== 'Directory') {
        entries.set(name, { kind: entry.type, size: entry.size ?? 0, sha256: null });
        return entry.resume();
      }
      const hash = createHash('sha256');
      let size = 0;
      entry.on('data', (c: Buffer) => {
        hash.update(c);
        size += c.length;
      });
      entry.on('end', () => entries.set(name, { kind: entry.type === 'File' ? 'file' : 'dir', size, sha256: entry.type === 'File' ? hash.digest('hex') : null }));
    },
  });
  return { entries, problems };
}

export interface ExtractOutcome {
  files: number;
  bytes: number;
  errors: string[];
}

/**
 * Unpacks the entries `wanted` names (manifest paths) of one archive under `target`; `known` is
 * every path of that archive's manifest. Every entry is checked here before tar sees it: only
 * plain files and directories, no absolute path, no `..`, nothing through or onto a symbolic link
 * already inside the target, nothing the manifest does not list. A refused entry is reported,
 * never written.
 */
export async function extractArchive(file: string, target: string, known: ReadonlySet<string>, wanted: ReadonlySet<string>): Promise<ExtractOutcome> {
  const outcome: ExtractOutcome = { files: 0, bytes: 0, errors: [] };
  const realDirs = new Set<string>([target]);

  /** Why writing `abs` could leave the target through a link that is already there, or null. */
  const linkProblem = (abs: string): string | null => {
    const chain: string[] = [];
    for (let p = abs; p !== target && isWithin(target, p); p = path.dirname(p)) chain.unshift(p);
    for (const p of chain) {
      if (realDirs.has(p)) continue;
      const st = (() => {
        try {
          return lstatSync(p);
        } catch {
          return null;
        }
      })();
      if (!st) return null; // nothing there yet: tar creates plain directories below
      if (st.isSymbolicLink()) return `${path.relative(target, p)} is a symbolic link in the target`;
      if (p !== abs) {
        if (!st.isDirectory()) return `${path.relative(target, p)} is not a directory in the target`;
        realDirs.add(p);
      }
    }
    return null;
  };

  await extract({
    file,
    cwd: target,
    strict: false,
    preserveOwner: false,
    onwarn: (_code: string, message: string) => void outcome.errors.push(message),
    filter: (entryPath: string, entry: ReadEntry | import('node:fs').Stats) => {
      const e = entry as ReadEntry;
      const refuse = (why: string) => (outcome.errors.push(`${entryPath}: refused: ${why}`), false);
      if (e.type !== 'File' && e.type !== 'Directory') return refuse(`a ${e.type} entry (only files and directories are restored)`);
      const unsafe = unsafeEntryPath(entryPath);
      if (unsafe) return refuse(unsafe);
      const name = normalEntryPath(entryPath);
      const abs = path.resolve(target, name);
      if (!isWithin(target, abs)) return refuse('outside the target');
      if (!known.has(name)) return refuse("not in the backup's manifest");
      // Content a later backup of the chain replaced (or deleted) is skipped, not an error.
      if (!wanted.has(name)) return false;
      const link = linkProblem(abs);
      if (link) return refuse(link);
      if (e.type === 'File') {
        outcome.files++;
        outcome.bytes += e.size ?? 0;
      }
      return true;
    },
  });
  return outcome;
}

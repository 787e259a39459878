import path from 'node:path';

/** Pure pieces of server-run backups: ids, ratios, entry names, the state of a chain, where a restore may write. */

/** `backup_<yyyymmdd>_<hhmmss>_<6 hex>`: the seed's shape, made unique by its suffix. */
export const BACKUP_ID = /^backup_\d{8}_\d{6}_[0-9a-f]{6}$/;

export function backupId(at: Date, suffix: string): string {
  const iso = at.toISOString();
  return `backup_${iso.slice(0, 10).replaceAll('-', '')}_${iso.slice(11, 19).replaceAll(':', '')}_${suffix}`;
}

/** (1 − compressed / original) × 100, one decimal; 0 for an empty archive's contents. */
export function compressionRatio(original: number, compressed: number): number {
  if (original <= 0) return 0;
  return Math.round((1 - compressed / original) * 1_000) / 10;
}

/**
 * Why an archive entry's name may not be written under a restore target, or null when it may:
 * absolute paths, drive letters, backslashes and `..` segments could all reach outside it.
 */
export function unsafeEntryPath(name: string): string | null {
  if (name === '' || name.includes('\0')) return 'empty or NUL in the name';
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return 'an absolute path';
  if (name.includes('\\')) return 'a backslash in the name';
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) return 'a ".." segment';
  if (!parts.length) return 'no name';
  return null;
}

/** An entry name without `./`, doubled or trailing slashes: how the manifest names it. */
export const normalEntryPath = (name: string): string =>
  name
    .split('/')
    .filter((p) => p !== '' && p !== '.')
    .join('/');

/** One manifest row, as far as the state of a chain needs it. */
export interface ChainEntry {
  backupId: string;
  path: string;
  deleted: boolean;
}

/**
 * The tree as of the last backup of a chain: for each path, the newest backup of the chain that
 * mentions it (oldest first in `chain`), unless that mention is a deletion. Answers, per backup,
 * the paths whose content that backup's archive holds for the restore, and the paths deleted.
 */
export function chainState(chain: readonly string[], entries: Iterable<ChainEntry>): { holds: Map<string, Set<string>>; deleted: Set<string> } {
  const depth = new Map(chain.map((id, i) => [id, i]));
  const newest = new Map<string, ChainEntry>();
  for (const e of entries) {
    const d = depth.get(e.backupId);
    if (d === undefined) continue;
    const known = newest.get(e.path);
    if (!known || depth.get(known.backupId)! < d) newest.set(e.path, e);
  }
  const holds = new Map<string, Set<string>>(chain.map((id) => [id, new Set<string>()]));
  const deleted = new Set<string>();
  for (const e of newest.values()) {
    if (e.deleted) deleted.add(e.path);
    else holds.get(e.backupId)!.add(e.path);
  }
  return { holds, deleted };
}

/** Whether `candidate` is `root` itself or lies inside it (both absolute and normalized). */
export function isWithin(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

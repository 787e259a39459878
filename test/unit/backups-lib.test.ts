import { describe, expect, it } from 'vitest';
import { BACKUP_ID, backupId, chainState, compressionRatio, isWithin, normalEntryPath, unsafeEntryPath } from '../../src/lib/backups.js';

describe('backup ids', () => {
  it('follow the seed shape with a suffix', () => {
    const id = backupId(new Date('2026-02-07T14:05:12.345Z'), 'a1b2c3');
    expect(id).toBe('backup_20260207_140512_a1b2c3');
    expect(BACKUP_ID.test(id)).toBe(true);
    expect(BACKUP_ID.test('backup_20260207_140512')).toBe(false);
  });
});

describe('compressionRatio', () => {
  it('is the percentage saved, one decimal', () => {
    expect(compressionRatio(163_400_000, 45_200_000)).toBe(72.3);
    expect(compressionRatio(100, 120)).toBe(-20);
    expect(compressionRatio(0, 20)).toBe(0);
  });
});

describe('entry names', () => {
  it.each([
    ['site/a.txt', null],
    ['./site/a', null],
    ['../x', 'a ".." segment'],
    ['site/../../x', 'a ".." segment'],
    ['/etc/passwd', 'an absolute path'],
    ['C:/x', 'an absolute path'],
    ['site\\..\\x', 'a backslash in the name'],
    ['', 'empty or NUL in the name'],
    ['./', 'no name'],
  ])('%s → %s', (name, why) => expect(unsafeEntryPath(name)).toBe(why));

  it('normalizes ./ and slashes', () => expect(normalEntryPath('./site//docs/')).toBe('site/docs'));
});

describe('chainState', () => {
  it('takes each path from the newest backup that mentions it, and leaves deletions out', () => {
    const { holds, deleted } = chainState(
      ['full', 'inc1', 'inc2'],
      [
        { backupId: 'full', path: 'a', deleted: false },
        { backupId: 'full', path: 'b', deleted: false },
        { backupId: 'full', path: 'c', deleted: false },
        { backupId: 'inc1', path: 'b', deleted: false },
        { backupId: 'inc1', path: 'c', deleted: true },
        { backupId: 'inc2', path: 'c', deleted: false },
        { backupId: 'inc2', path: 'a', deleted: true },
        { backupId: 'other', path: 'z', deleted: false },
      ],
    );
    expect([...holds.get('full')!]).toEqual([]);
    expect([...holds.get('inc1')!]).toEqual(['b']);
    expect([...holds.get('inc2')!]).toEqual(['c']);
    expect([...deleted]).toEqual(['a']);
  });
});

describe('isWithin', () => {
  it('accepts the root and what lies under it, nothing beside it', () => {
    expect(isWithin('/r/restores', '/r/restores')).toBe(true);
    expect(isWithin('/r/restores', '/r/restores/x/y')).toBe(true);
    expect(isWithin('/r/restores', '/r/restores-evil')).toBe(false);
    expect(isWithin('/r/restores', '/r')).toBe(false);
  });
});

describe('exclude globs', async () => {
  const { excludeMatcher } = await import('../../src/modules/backups/backups.archive.js');
  it('match a name at any depth without /, from the root with /', () => {
    const m = excludeMatcher(['*.tmp', 'cache', 'logs/*.gz', 'build/']);
    expect(['a.tmp', 'x/y/b.tmp', 'cache', 'deep/cache', 'logs/old.gz', 'build', 'src/build'].filter(m)).toEqual(['a.tmp', 'x/y/b.tmp', 'cache', 'deep/cache', 'logs/old.gz', 'build', 'src/build']);
    expect(['a.txt', 'x/logs/old.gz', 'cached', 'tmp'].filter(m)).toEqual([]);
  });
});

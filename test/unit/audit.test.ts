import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, entryHash, GENESIS_HASH, linkIsSound, type ChainedContent } from '../../src/lib/audit-chain.js';
import { csvCell, csvRow } from '../../src/lib/csv.js';
import { isSecretKey, REDACTED, redactSecrets } from '../../src/lib/redact.js';

describe('redactSecrets', () => {
  it('replaces secrets by key name at any depth, whatever their type', () => {
    const input = {
      email: 'a@b.c',
      password: 'hunter2-hunter2',
      passwordHash: 'whatever',
      nested: { secret_hash: 'abc', refreshToken: 'r', tokenHash: 't', licenseKey: 'k', 'private-key': { pem: 'x' } },
      list: [{ apiKeySecret: 's' }, { name: 'ok' }],
      count: 3,
    };
    expect(redactSecrets(input)).toEqual({
      email: 'a@b.c',
      password: REDACTED,
      passwordHash: REDACTED,
      nested: { secret_hash: REDACTED, refreshToken: REDACTED, tokenHash: REDACTED, licenseKey: REDACTED, 'private-key': REDACTED },
      list: [{ apiKeySecret: REDACTED }, { name: 'ok' }],
      count: 3,
    });
  });

  it('keeps null and absent secrets as they are: no password given is not a secret', () => {
    expect(redactSecrets({ password: null, token: undefined, name: 'x' })).toEqual({ password: null, name: 'x' });
  });

  it('catches secrets by their shape under any name: API keys, JWS (license keys, tokens), scrypt hashes, PEM private keys', () => {
    const jws = 'eyJhbGciOiJFZERTQSJ9.eyJjdXN0b21lciI6IkFjbWUifQ.c2lnbmF0dXJlLWJ5dGVzLWhlcmU';
    const out = redactSecrets({
      note: 'opk_abcd1234_ZXhhbXBsZXNlY3JldA',
      key: jws,
      stored: 'scrypt$16384$8$1$c2FsdA$aGFzaA',
      pem: '-----BEGIN PRIVATE KEY-----\nMC4CAQ\n-----END PRIVATE KEY-----',
      plain: 'service.example.com',
      version: '1.2.3',
    });
    expect(out).toEqual({ note: REDACTED, key: REDACTED, stored: REDACTED, pem: REDACTED, plain: 'service.example.com', version: '1.2.3' });
  });

  it('returns JSON data: dates as ISO strings, bigints as text, undefined as null; the input is untouched', () => {
    const input = { at: new Date('2026-01-01T00:00:00Z'), size: 10n, password: 'p' };
    expect(redactSecrets(input)).toEqual({ at: '2026-01-01T00:00:00.000Z', size: '10', password: REDACTED });
    expect(input.password).toBe('p');
    expect(redactSecrets(undefined)).toBeNull();
  });

  it('does not take ordinary names for secrets', () => {
    for (const k of ['email', 'name', 'prefix', 'apiKey', 'nodeId', 'scopes', 'keyId', 'displayName']) expect([k, isSecretKey(k)]).toEqual([k, false]);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every level, so key order never changes the bytes', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}');
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        return canonicalJson(obj) === canonicalJson(reversed) && canonicalJson(JSON.parse(canonicalJson(obj))) === canonicalJson(obj);
      }),
    );
  });
});

const entry = (over: Partial<ChainedContent> = {}): ChainedContent => ({
  id: '0b6f8c7e-1d0c-4a43-9a7e-2f3c1b9e8d11',
  seq: '1',
  at: new Date('2026-03-01T12:00:00.123Z'),
  actorType: 'USER',
  actorId: 'u1',
  action: 'user.update',
  resourceType: 'user',
  resourceId: 'u2',
  before: { role: 'VIEWER' },
  after: { role: 'ADMIN' },
  ip: '127.0.0.1',
  requestId: 'r1',
  prevHash: GENESIS_HASH,
  ...over,
});
const sealed = (e: ChainedContent) => ({ ...e, hash: entryHash(e) });

describe('the hash chain', () => {
  it('covers every field: changing any one changes the hash', () => {
    const base = entryHash(entry());
    const changes: Partial<ChainedContent>[] = [
      { id: '0b6f8c7e-1d0c-4a43-9a7e-2f3c1b9e8d12' },
      { seq: '2' },
      { at: new Date('2026-03-01T12:00:00.124Z') },
      { actorType: 'SYSTEM' },
      { actorId: 'u3' },
      { action: 'user.create' },
      { resourceType: 'api_key' },
      { resourceId: null },
      { before: { role: 'OPERATOR' } },
      { after: null },
      { ip: '10.0.0.1' },
      { requestId: null },
      { prevHash: 'f'.repeat(64) },
    ];
    for (const c of changes) expect([c, entryHash(entry(c))]).not.toEqual([c, base]);
  });

  it('is the same for the same content in another key order (as JSONB gives it back)', () => {
    expect(entryHash(entry({ after: { b: 1, a: 2 } }))).toBe(entryHash(entry({ after: { a: 2, b: 1 } })));
  });

  it('accepts a sound link and refuses a changed entry, a wrong link or a gap', () => {
    const first = sealed(entry());
    const second = sealed(entry({ seq: '2', prevHash: first.hash, action: 'user.create' }));
    expect(linkIsSound(null, first)).toBe(true);
    expect(linkIsSound(first, second)).toBe(true);
    expect(linkIsSound(null, { ...first, after: { role: 'VIEWER' } })).toBe(false);
    expect(linkIsSound(first, sealed(entry({ seq: '2', prevHash: 'e'.repeat(64) })))).toBe(false);
    expect(linkIsSound(first, sealed(entry({ seq: '3', prevHash: first.hash })))).toBe(false);
  });

  it('takes the first remaining entry after pruning as given, but seq 1 must start from the genesis hash', () => {
    expect(linkIsSound(null, sealed(entry({ seq: '41', prevHash: 'a'.repeat(64) })))).toBe(true);
    expect(linkIsSound(null, sealed(entry({ seq: '1', prevHash: 'a'.repeat(64) })))).toBe(false);
  });
});

describe('CSV', () => {
  it('quotes cells with commas, quotes and line breaks, doubling quotes', () => {
    expect(csvRow(['a', 'b,c', 'say "hi"', 'two\nlines', 'cr\r', null, 3])).toBe('a,"b,c","say ""hi""","two\nlines","cr\r",,3\r\n');
  });

  it('neutralizes text that a spreadsheet would run as a formula', () => {
    expect(csvCell('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    for (const s of ['+1', '-1', '@SUM(A1)', '\tx']) expect(csvCell(s).startsWith("'") || csvCell(s).startsWith(`"'`)).toBe(true);
    expect(csvCell(-1)).toBe('-1');
  });

  it('round-trips through a standard parse', () => {
    fc.assert(
      fc.property(fc.array(fc.string().filter((s) => !/^[=+\-@\t\r]/.test(s)), { minLength: 1, maxLength: 5 }), (cells) => {
        expect(parseCsvRow(csvRow(cells))).toEqual(cells);
      }),
    );
  });
});

/** A minimal RFC 4180 reader for one row, to check the writer against. */
function parseCsvRow(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  let cell = '';
  for (;;) {
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (line[i] === '"' && line[i + 1] === '"') (cell += '"'), (i += 2);
        else if (line[i] === '"') {
          i++;
          break;
        } else cell += line[i++];
      }
    } else while (line[i] !== ',' && !(line[i] === '\r' && line[i + 1] === '\n' && i + 2 === line.length)) cell += line[i++];
    out.push(cell);
    cell = '';
    if (line[i] === ',') i++;
    else return out;
  }
}

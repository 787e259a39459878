import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../../src', import.meta.url));
const LOWER = ['infra', 'auth', 'http', 'graphql', 'lib', 'config.ts'];
/** The one lower-layer file that reads the module list: the schema is built from it. */
const ALLOWED = new Set(['graphql/schema.ts -> modules/module.ts']);

function files(p: string): string[] {
  if (statSync(p).isFile()) return p.endsWith('.ts') ? [p] : [];
  return readdirSync(p).flatMap((f) => files(path.join(p, f)));
}

describe('layers', () => {
  it('no file of infra, auth, http, graphql, lib or config.ts imports from src/modules', () => {
    const offences: string[] = [];
    for (const file of LOWER.flatMap((l) => files(path.join(src, l)))) {
      const text = readFileSync(file, 'utf8');
      for (const [, spec] of text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) {
        const target = path.relative(src, path.resolve(path.dirname(file), spec!)).replace(/\.js$/, '.ts');
        const edge = `${path.relative(src, file)} -> ${target}`;
        if (target.startsWith('modules/') && !ALLOWED.has(edge)) offences.push(edge);
      }
    }
    expect(offences).toEqual([]);
  });
});

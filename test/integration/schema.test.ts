import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { modules } from '../../src/app.js';
import { buildOpsSchema, printOpsSchema } from '../../src/graphql/schema.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

function schemaCheck(file: string) {
  return run(process.execPath, ['--import', '@oxc-node/core/register', 'src/main.ts', 'schema', '--check', '--file', file], { cwd: root }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

describe('schema drift', () => {
  it('the committed SDL is what the code emits', async () => {
    const committed = await readFile(path.join(root, 'schema/schema.graphql'), 'utf8');
    expect(printOpsSchema(await buildOpsSchema(modules))).toBe(committed);
  });

  it('schema --check passes on the committed SDL and fails on a drifted copy', async () => {
    const ok = await schemaCheck(path.join(root, 'schema/schema.graphql'));
    expect(ok.code).toBe(0);

    const dir = await mkdtemp(path.join(tmpdir(), 'opsgraph-sdl-'));
    const drifted = path.join(dir, 'schema.graphql');
    const committed = await readFile(path.join(root, 'schema/schema.graphql'), 'utf8');
    await writeFile(drifted, committed.replace('readiness: Readiness!', 'readiness: Readiness'));
    const bad = await schemaCheck(drifted);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/differs from the code/);
  });
});

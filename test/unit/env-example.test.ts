import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { configSchema, loadConfig } from '../../src/config.js';

const text = readFileSync(fileURLToPath(new URL('../../.env.example', import.meta.url)), 'utf8');
const lines = text.split('\n');
const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as { properties: Record<string, { minimum?: number; maximum?: number }> };
const keys = Object.keys(schema.properties);
const defaults = loadConfig({}) as Record<string, unknown>;

/** The comment lines that describe `key`: from the blank line before it down to its own line. */
function block(key: string): { value: string; comments: string } {
  const at = lines.findIndex((l) => l.startsWith(`${key}=`));
  if (at < 0) throw new Error(`${key} is not in .env.example`);
  let start = at;
  while (start > 0 && lines[start - 1]!.trim() !== '') start--;
  return { value: lines[at]!.slice(key.length + 1), comments: lines.slice(start, at).join('\n') };
}

describe('.env.example', () => {
  it('lists exactly the variables of the config schema', () => {
    const listed = lines.map((l) => /^([A-Z][A-Z0-9_]*)=/.exec(l)?.[1]).filter(Boolean);
    expect([...listed].sort()).toEqual([...keys].sort());
  });

  it.each(keys)('%s shows its default and its bounds', (key) => {
    const { value, comments } = block(key);
    const d = defaults[key];
    expect(value, `${key} default`).toBe(d === undefined ? '' : String(d));
    const { minimum: min, maximum: max } = schema.properties[key]!;
    const bound = min !== undefined && max !== undefined ? `${min} to ${max}` : min !== undefined ? `at least ${min}` : max !== undefined ? `at most ${max}` : null;
    if (bound) expect(comments, `${key} bounds`).toContain(`${key}: ${bound}`);
  });
});

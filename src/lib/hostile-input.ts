import { fieldPath } from './field-path.js';

/**
 * Strings PostgreSQL cannot store as text (NUL) or that do not survive as UTF-8 (a lone UTF-16
 * surrogate becomes U+FFFD, so a lookup by the same name misses). Refused once at the edge, for
 * every body, query string and GraphQL input, so none reaches SQL.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function stringProblem(s: string): string | null {
  if (s.includes('\u0000')) return 'contains a NUL character';
  if (LONE_SURROGATE.test(s)) return 'contains a lone UTF-16 surrogate (not valid Unicode)';
  return null;
}


/**
 * The first string in `value` (a key or a value, at any depth) that `stringProblem` refuses, with
 * where it is. Walks without recursion, so a deeply nested body cannot exhaust the stack.
 */
export function findHostileString(value: unknown, root: string): { field: string; problem: string } | null {
  const stack: { v: unknown; path: (string | number)[] }[] = [{ v: value, path: [] }];
  while (stack.length) {
    const { v, path } = stack.pop()!;
    if (typeof v === 'string') {
      const problem = stringProblem(v);
      if (problem) return { field: fieldPath(path, root), problem };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: [...path, i] });
    } else if (v && typeof v === 'object') {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        const problem = stringProblem(key);
        if (problem) return { field: fieldPath([...path, key], root), problem: `has a key that ${problem}` };
        stack.push({ v: child, path: [...path, key] });
      }
    }
  }
  return null;
}

import { createHash } from 'node:crypto';

export type Labels = Record<string, string>;

/** Labels with their keys sorted, as JSON: the one text a label set has, whatever order it came in. */
export function canonicalLabels(labels: Labels): string {
  return JSON.stringify(Object.fromEntries(Object.keys(labels).sort().map((k) => [k, labels[k]!])));
}

/** What identifies a series of a metric: SHA-256 (hex) of its canonical labels. */
export const labelsHash = (labels: Labels): string => createHash('sha256').update(canonicalLabels(labels)).digest('hex');

/**
 * `env:prod,region:eu` as labels; null when a part has no `:` or an empty key. A value may itself
 * hold `:` (only the first one separates).
 */
export function parseLabelFilter(text: string): Labels | null {
  const out: Labels = {};
  for (const part of text.split(',')) {
    const i = part.indexOf(':');
    if (i <= 0) return null;
    out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

/** A metric name as Prometheus allows it (`[a-zA-Z_:][a-zA-Z0-9_:]*`): every other character becomes `_`. */
export function prometheusName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_:]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

/** A label name as Prometheus allows it (`[a-zA-Z_][a-zA-Z0-9_]*`). */
export function prometheusLabelName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(s) || s === '' ? `_${s}` : s;
}

/** A label value in the exposition format: backslash, double quote and newline escaped. */
export const prometheusLabelValue = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** A sample value in the exposition format. */
export function prometheusValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

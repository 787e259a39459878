/** `services[0].readyReplicas`: how a field inside input is named in answers, as a caller would write it in code. */
export function fieldPath(path: readonly PropertyKey[], root: string): string {
  let out = root;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out || root;
}

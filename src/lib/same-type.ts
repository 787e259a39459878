/**
 * `true` only when A and B are the same type: `const ok: SameType<A, B> = true` fails to compile
 * when a schema and the interface it mirrors drift apart.
 */
export type SameType<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

import type { GraphQLResolveInfo, SelectionSetNode } from 'graphql';

/**
 * Whether the field being resolved selects any of `names` directly. Fragments count as "maybe":
 * answering true for them keeps the result right, only less lazy.
 */
export function selects(info: GraphQLResolveInfo, names: readonly string[]): boolean {
  const visit = (set: SelectionSetNode | undefined): boolean =>
    !!set?.selections.some((s) => (s.kind === 'Field' ? names.includes(s.name.value) : s.kind === 'InlineFragment' ? visit(s.selectionSet) : true));
  return info.fieldNodes.some((node) => visit(node.selectionSet));
}

import { GraphQLError, type ASTNode, type ValidationContext, type ASTVisitor } from 'graphql';
import { fieldPath } from '../lib/field-path.js';
import { stringProblem } from '../lib/hostile-input.js';

/**
 * A validation rule: a string literal in the document with a NUL or a lone surrogate is refused
 * before anything runs, naming the argument it is in (variables are checked with the request body).
 */
export function hostileStringLiterals(context: ValidationContext): ASTVisitor {
  return {
    StringValue(node, _key, parent, _path, ancestors) {
      const problem = stringProblem(node.value);
      if (!problem) return;
      // graphql-js hands the parent apart from the ancestors above it.
      const names = [...(ancestors as readonly (ASTNode | readonly ASTNode[])[]), parent as ASTNode | readonly ASTNode[]]
        .filter((a): a is ASTNode => !Array.isArray(a) && 'kind' in a && (a.kind === 'Argument' || a.kind === 'ObjectField'))
        .map((a) => ('name' in a && a.name ? a.name.value : ''));
      const field = fieldPath(names, '') || 'query';
      context.reportError(new GraphQLError(`${field} ${problem}`, { nodes: [node], extensions: { field } }));
    },
  };
}

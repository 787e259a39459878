import { getNamedType, GraphQLError, isInterfaceType, isObjectType, Kind, type GraphQLNamedType, type SelectionSetNode, type ValidationContext, type ValidationRule } from 'graphql';
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import type { Config } from '../config.js';

export type LimitsConfig = Pick<Config, 'GRAPHQL_MAX_DEPTH' | 'GRAPHQL_MAX_COST' | 'GRAPHQL_MAX_ALIASES' | 'GRAPHQL_MAX_DIRECTIVES' | 'GRAPHQL_MAX_TOKENS'>;

/**
 * Validation rules that bound what one document may cost, applied alike on HTTP
 * and WebSocket. Introspection is not exempt from the depth limit: `__Type.fields`
 * recurses without end, and the armor's introspection exemption is exactly what
 * the `__schema`-named-fragment trick used to abuse.
 */
export function limitRules(c: LimitsConfig): ValidationRule[] {
  // Report as ordinary validation errors (400) instead of throwing out of validate().
  const report = {
    exposeLimits: true,
    propagateOnRejection: false,
    onReject: [
      (ctx: ValidationContext | null, err: GraphQLError) =>
        ctx?.reportError(new GraphQLError(err.message.replace(/^Syntax Error: /, ''), { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })),
    ],
  };
  return [
    maxDepthRule({ n: c.GRAPHQL_MAX_DEPTH, ignoreIntrospection: false, flattenFragments: true, ...report }),
    costLimitRule({ maxCost: c.GRAPHQL_MAX_COST, ignoreIntrospection: true, ...report }),
    maxAliasesRule({ n: c.GRAPHQL_MAX_ALIASES, ...report }),
    maxDirectivesRule({ n: c.GRAPHQL_MAX_DIRECTIVES, ...report }),
    noFieldTwiceOnAPath,
  ] as ValidationRule[];
}

/** Selections a document may expand to (fragments included) before it is refused unchecked. */
const EXPANSION_BUDGET = 20_000;

/**
 * Links make the schema a graph with cycles (Service.slaGroup, SlaGroup.services, Service.slaGroup, ...).
 * Each turn around one multiplies the answer by a list's length, which neither the depth nor the cost
 * limit sees (both are blind to list lengths): a few turns over large groups would build an answer
 * of millions of objects from a document of a few tokens. So along any one path of a document each
 * field of each type (`SlaGroup.services`) is followed at most once; introspection is exempt.
 */
export const noFieldTwiceOnAPath: ValidationRule = (context) => ({
  OperationDefinition(operation) {
    const schema = context.getSchema();
    const root = schema.getRootType(operation.operation);
    if (!root) return;
    let budget = EXPANSION_BUDGET;
    const onPath = new Set<string>();
    const fragmentsOnPath = new Set<string>();
    const reported = new Set<string>();
    const walk = (set: SelectionSetNode, parent: GraphQLNamedType): void => {
      for (const selection of set.selections) {
        if (--budget < 0) return;
        if (selection.kind === Kind.FIELD) {
          const name = selection.name.value;
          if (!selection.selectionSet || name.startsWith('__') || parent.name.startsWith('__')) continue;
          if (!isObjectType(parent) && !isInterfaceType(parent)) continue;
          const field = parent.getFields()[name];
          if (!field) continue;
          const coordinate = `${parent.name}.${name}`;
          if (onPath.has(coordinate)) {
            if (!reported.has(coordinate)) {
              reported.add(coordinate);
              context.reportError(
                new GraphQLError(`${coordinate} is followed twice on one path; ask for it once and read the rest by id`, {
                  nodes: selection,
                  extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
                }),
              );
            }
            continue;
          }
          onPath.add(coordinate);
          walk(selection.selectionSet, getNamedType(field.type));
          onPath.delete(coordinate);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
          if (type) walk(selection.selectionSet, type);
        } else {
          const name = selection.name.value;
          const fragment = context.getFragment(name);
          // A fragment that spreads itself is NoFragmentCyclesRule's to report.
          if (!fragment || fragmentsOnPath.has(name)) continue;
          const type = schema.getType(fragment.typeCondition.name.value);
          if (!type) continue;
          fragmentsOnPath.add(name);
          walk(fragment.selectionSet, type);
          fragmentsOnPath.delete(name);
        }
      }
    };
    walk(operation.selectionSet, root);
    if (budget < 0) context.reportError(new GraphQLError(`the document expands to more than ${EXPANSION_BUDGET} selections`, { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }));
  },
});

export const parseLimits = (c: LimitsConfig) => ({ maxTokens: c.GRAPHQL_MAX_TOKENS });

import { GraphQLError, type ValidationContext, type ValidationRule } from 'graphql';
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
  ] as ValidationRule[];
}

export const parseLimits = (c: LimitsConfig) => ({ maxTokens: c.GRAPHQL_MAX_TOKENS });

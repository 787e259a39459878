import type { GraphQLFormattedError } from 'graphql';
import { ArgumentValidationError } from 'type-graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { AppError, errorTable, MASKED_MESSAGE } from '../lib/errors.js';
import { unavailableDependency } from '../infra/dependency-errors.js';
import type { Logger } from '../infra/logger.js';

/** Codes that Apollo and graphql-js raise for bad documents or variables: the caller's fault, safe to show. */
const CLIENT_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

/**
 * Every GraphQL error leaves through here: AppErrors through the error table,
 * validation errors with the offending fields, client mistakes as they are, and
 * anything else logged and masked. Never a stack trace.
 */
export function formatGraphQLError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const base = { message: formatted.message, locations: formatted.locations, path: formatted.path };
    if (original instanceof AppError) {
      const masked = original.code === 'INTERNAL';
      return {
        ...base,
        message: masked ? MASKED_MESSAGE : original.message,
        extensions: { code: errorTable[original.code].graphql, ...(masked ? {} : original.details) },
      };
    }
    if (original instanceof ArgumentValidationError) {
      const fields = original.extensions.validationErrors?.map((v) => ({
        field: v.property,
        constraints: v.constraints,
      }));
      return { ...base, extensions: { code: 'BAD_USER_INPUT', fields } };
    }
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && CLIENT_CODES.has(code)) {
      // Only what Opsgraph's own rules put there (the field a value is refused in), never internals.
      const field = formatted.extensions?.field;
      return { ...base, extensions: { code, ...(typeof field === 'string' ? { field } : {}) } };
    }
    // Apollo's own refusals of a request (a persisted query's hash that does not match, a bad
    // request shape) carry an HTTP 4xx and a clear message: the caller's mistake, shown as it is.
    const http = ((original as { extensions?: { http?: { status?: number } } } | undefined)?.extensions?.http ?? (formatted.extensions?.http as { status?: number } | undefined))?.status;
    if (typeof http === 'number' && http >= 400 && http < 500) return { ...base, extensions: { code: 'BAD_REQUEST' } };
    const dependency = unavailableDependency(original);
    if (dependency) {
      logger.warn({ err: (original as Error).message, path: formatted.path }, 'dependency unavailable');
      return { ...base, message: `${dependency} is unavailable; retry shortly`, extensions: { code: errorTable.SERVICE_UNAVAILABLE.graphql, dependency } };
    }
    logger.error({ err: original, path: formatted.path }, 'unhandled GraphQL error');
    return { ...base, message: MASKED_MESSAGE, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  };
}

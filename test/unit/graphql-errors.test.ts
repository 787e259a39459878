import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { formatGraphQLError } from '../../src/graphql/errors.js';
import { createLogger } from '../../src/infra/logger.js';
import { AppError, graphqlHttpStatus } from '../../src/lib/errors.js';

const format = formatGraphQLError(createLogger({ LOG_LEVEL: 'silent' }));
const asResolverError = (original: Error) => new GraphQLError(original.message, { path: ['x'], originalError: original });

describe('GraphQL error formatting', () => {
  it('maps AppError codes through the error table, with details', () => {
    const err = asResolverError(new AppError('LICENSE_REQUIRED', 'the ticketing plugin is not licensed', { plugin: 'ticketing' }));
    expect(format(err.toJSON(), err)).toMatchObject({
      message: 'the ticketing plugin is not licensed',
      extensions: { code: 'LICENSE_REQUIRED', plugin: 'ticketing' },
    });
  });

  it('masks unexpected errors and never leaks a stack', () => {
    const err = asResolverError(new TypeError("Cannot read properties of undefined (reading 'id')"));
    const out = format({ ...err.toJSON(), extensions: { stacktrace: ['at foo.js:1'] } }, err);
    expect(out).toEqual({ message: 'Internal server error', path: ['x'], locations: undefined, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  });

  it('keeps client-side codes such as validation failures', () => {
    const err = new GraphQLError('Cannot query field "nope"', { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    expect(format(err.toJSON(), err).extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
  });
});

describe('HTTP status of a GraphQL operation that failed whole', () => {
  it('comes from the one error table: access and availability codes, never input errors', () => {
    expect(graphqlHttpStatus).toEqual({ UNAUTHENTICATED: 401, FORBIDDEN: 403, LICENSE_REQUIRED: 403, RATE_LIMITED: 429, SERVICE_UNAVAILABLE: 503 });
  });
});

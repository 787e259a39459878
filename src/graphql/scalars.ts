import { GraphQLError, GraphQLScalarType, type ValueNode } from 'graphql';
import { GraphQLDateTimeISO } from 'graphql-scalars';
import { instantProblem } from '../lib/instants.js';

/** The ISO date-time scalar, refusing inputs outside the window every timestamp must lie in (lib/instants.ts). */
function bounded(value: Date): Date {
  const problem = instantProblem(value);
  if (problem) throw new GraphQLError(`a time that ${problem}`, { extensions: { code: 'BAD_USER_INPUT' } });
  return value;
}

const base = GraphQLDateTimeISO.toConfig();
export const BoundedDateTimeISO = new GraphQLScalarType<Date, string>({
  ...base,
  parseValue: (value: unknown) => bounded(base.parseValue!(value) as Date),
  parseLiteral: (ast: ValueNode, variables?: Record<string, unknown> | null) => bounded(base.parseLiteral!(ast, variables) as Date),
});

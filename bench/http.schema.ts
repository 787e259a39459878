/** The schema, data and queries shared by the http bench's servers (child) and its load generator (parent). */
import {
  GraphQLFloat,
  GraphQLID,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
} from 'graphql';

export const SERVER_KINDS = ['bare', 'apollo', 'opsgraph'] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

export interface Item {
  id: string;
  name: string;
  status: string;
  value: number;
  updatedAt: string;
}

// Built once, so the servers measure execution and serialisation, not data creation.
const STATUSES = ['ok', 'degraded', 'down'] as const;
export const ITEMS: readonly Item[] = Array.from({ length: 100 }, (_, i) => ({
  id: `item-${i}`,
  name: `Item ${i}`,
  status: STATUSES[i % STATUSES.length]!,
  value: i * 1.25,
  updatedAt: new Date(Date.UTC(2025, 0, 1, 0, i)).toISOString(),
}));

export const QUERIES = {
  trivial: '{ hello }',
  list: '{ items { id name status value updatedAt } }',
} as const;
export type QueryName = keyof typeof QUERIES;

/** What a correct GraphQL server answers to each query. */
export const EXPECTED: Record<QueryName, unknown> = {
  trivial: { data: { hello: 'world' } },
  list: { data: { items: ITEMS } },
};

/**
 * `type Query { hello: String!, items: [Item!]! }` with resolvers attached to the fields,
 * because Opsgraph's server takes a schema and no root value.
 */
export function buildBenchSchema(): GraphQLSchema {
  const Item = new GraphQLObjectType({
    name: 'Item',
    fields: {
      id: { type: new GraphQLNonNull(GraphQLID) },
      name: { type: new GraphQLNonNull(GraphQLString) },
      status: { type: new GraphQLNonNull(GraphQLString) },
      value: { type: new GraphQLNonNull(GraphQLFloat) },
      updatedAt: { type: new GraphQLNonNull(GraphQLString) },
    },
  });
  const Query = new GraphQLObjectType({
    name: 'Query',
    fields: {
      hello: { type: new GraphQLNonNull(GraphQLString), resolve: () => 'world' },
      items: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(Item))), resolve: () => ITEMS },
    },
  });
  return new GraphQLSchema({ query: Query });
}

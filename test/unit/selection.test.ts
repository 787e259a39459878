import { parse, type FieldNode, type GraphQLResolveInfo, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { selects } from '../../src/graphql/selection.js';

const infoFor = (query: string) => {
  const op = parse(query).definitions[0] as OperationDefinitionNode;
  return { fieldNodes: [op.selectionSet.selections[0] as FieldNode] } as unknown as GraphQLResolveInfo;
};

describe('selects', () => {
  it('sees fields selected directly or in inline fragments, and assumes named fragments might', () => {
    expect(selects(infoFor('{ slaGroups { id name } }'), ['status'])).toBe(false);
    expect(selects(infoFor('{ slaGroups { id status } }'), ['status', 'currentUptime'])).toBe(true);
    expect(selects(infoFor('{ slaGroups { ... on SlaGroup { currentUptime } } }'), ['currentUptime'])).toBe(true);
    expect(selects(infoFor('{ slaGroups { ... on SlaGroup { id } } }'), ['currentUptime'])).toBe(false);
    expect(selects(infoFor('{ slaGroups { ...G } } fragment G on SlaGroup { id }'), ['status'])).toBe(true);
  });
});

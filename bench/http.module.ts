/** The bench's trivial schema as an Opsgraph module, so the bench runs Opsgraph's real composition root. */
import { Authorized, Field, Float, ID, Query, Resolver } from 'type-graphql';
import { OutputType } from '../src/graphql/output-type.js';
import { defineModule } from '../src/modules/module.js';
import { ITEMS, type Item } from './http.schema.js';

@OutputType('Item')
class ItemType {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field() status!: string;
  @Field(() => Float) value!: number;
  @Field() updatedAt!: string;
}

@Resolver()
class BenchResolver {
  @Authorized('PUBLIC')
  @Query(() => String)
  hello(): string {
    return 'world';
  }

  @Authorized('PUBLIC')
  @Query(() => [ItemType])
  items(): readonly Item[] {
    return ITEMS;
  }
}

export const benchModule = defineModule<Record<string, never>>({
  name: 'bench',
  resolvers: [BenchResolver],
  create: () => ({ services: {} }),
});

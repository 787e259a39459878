import { Max, Min } from 'class-validator';
import { Field, InputType, Int, registerEnumType, type ClassType } from 'type-graphql';
import { OutputType } from './output-type.js';
import { MAX_LIMIT } from '../lib/pagination.js';

export enum SortOrder {
  asc = 'asc',
  desc = 'desc',
}
registerEnumType(SortOrder, { name: 'SortOrder' });

@InputType({ description: `Page of a list: limit 20 by default, ${MAX_LIMIT} at most.` })
export class PageInput {
  @Field(() => Int, { nullable: true, defaultValue: 1 })
  @Min(1)
  page?: number;

  @Field(() => Int, { nullable: true, defaultValue: 20 })
  @Min(1)
  @Max(MAX_LIMIT)
  limit?: number;

  @Field(() => String, { nullable: true, description: 'Field to sort by; each list names the ones it accepts.' })
  sort?: string;

  @Field(() => SortOrder, { nullable: true, description: 'Each list has its natural default: newest first for events, by name for services.' })
  order?: SortOrder;
}

@OutputType('PageInfo')
export class PageInfo {
  @Field(() => Int) page!: number;
  @Field(() => Int) limit!: number;
  @Field(() => Int) total!: number;
  @Field(() => Int) pages!: number;
  @Field() hasNext!: boolean;
  @Field() hasPrev!: boolean;
}

/** `{ items pageInfo }` for an item type, named `<Item>Page`. */
export function Paginated<T extends object>(item: ClassType<T>, name: string) {
  @OutputType(name)
  class PageClass {
    @Field(() => [item])
    items!: T[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;
  }
  return PageClass;
}

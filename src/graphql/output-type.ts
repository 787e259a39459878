import { ObjectType } from 'type-graphql';

type ObjectTypeOptions = NonNullable<Parameters<typeof ObjectType>[1]>;

/**
 * `@ObjectType` whose fields resolve as plain property reads. Authorization is
 * decided on root fields, so type-graphql's per-field resolver wrapper would only
 * add work to every field of every item of a list (most of a list's execution time).
 * A field that needs its own resolver uses `@FieldResolver`, which is unaffected.
 */
export function OutputType(name: string, options: ObjectTypeOptions = {}): ClassDecorator {
  return ObjectType(name, { simpleResolvers: true, ...options });
}

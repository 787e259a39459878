import 'reflect-metadata';
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchema, getMetadataStorage, type ContainerType, type PubSub } from 'type-graphql';
import { authChecker } from '../auth/guards.js';
import { BoundedDateTimeISO } from './scalars.js';
import { eventDefinition, type EventBus } from '../infra/events.js';
import type { AnyModule } from '../modules/module.js';

type ResolverClass = new (services: never) => object;

/**
 * type-graphql's `topics` subscriptions over the event bus: a topic is an event
 * type, and the subscriber receives the event's payload as its root value.
 */
function busPubSub(events: EventBus): PubSub {
  const definition = (type: string) => {
    const def = eventDefinition(type);
    if (!def) throw new Error(`subscription topic ${type} is no defined event`);
    return def;
  };
  return {
    publish: (type, payload) => void events.publish(definition(type), payload),
    subscribe: (type) =>
      (async function* () {
        for await (const event of events.subscribe([definition(type)])) yield event.payload;
      })(),
  };
}

const notExecutable: PubSub = {
  publish: () => {
    throw new Error('schema built for printing only');
  },
  subscribe: () => {
    throw new Error('schema built for printing only');
  },
};

/**
 * Builds the schema from the module list. Resolvers get their module's services
 * through `container`; without runtime parts (schema emission) nothing is instantiated.
 */
export async function buildOpsSchema(
  modules: readonly AnyModule[],
  runtime?: { services: ReadonlyMap<string, unknown>; events: EventBus },
): Promise<GraphQLSchema> {
  const services = runtime?.services;
  const owner = new Map<ResolverClass, string>();
  for (const m of modules) for (const r of m.resolvers ?? []) owner.set(r as ResolverClass, m.name);
  const resolvers = [...owner.keys()];
  if (!resolvers.length) throw new Error('no resolvers: the module list is empty');

  const instances = new Map<ResolverClass, object>();
  const container: ContainerType = {
    get(cls: ResolverClass) {
      let instance = instances.get(cls);
      if (!instance) {
        if (!services) throw new Error('schema was built without services; it can be printed, not executed');
        instance = new cls(services.get(owner.get(cls)!) as never);
        instances.set(cls, instance);
      }
      return instance;
    },
  };
  const schema = await buildSchema({
    resolvers: resolvers as unknown as [Function, ...Function[]],
    container,
    pubSub: runtime ? busPubSub(runtime.events) : notExecutable,
    authChecker,
    authMode: 'error',
    validate: true,
    scalarsMap: [{ type: Date, scalar: BoundedDateTimeISO }],
  });
  const undecided = rootFieldsWithoutAccess(resolvers);
  if (undecided.length) throw new Error(`root fields without @Authorized(<access>): ${undecided.join(', ')}`);
  return schema;
}

/**
 * Every query, mutation and subscription must say who may call it, PUBLIC
 * included: forgetting is a start-up error, not an open door.
 */
export function rootFieldsWithoutAccess(resolvers: readonly Function[]): string[] {
  const storage = getMetadataStorage();
  const decided = new Set(storage.authorizedFields.filter((a) => a.roles.length === 1).map((a) => `${a.target.name}.${a.fieldName}`));
  return [...storage.queries, ...storage.mutations, ...storage.subscriptions]
    .filter((h) => resolvers.includes(h.target) && !decided.has(`${h.target.name}.${h.methodName}`))
    .map((h) => h.schemaName);
}

/** The committed SDL: sorted so that it changes only when the schema does. */
export function printOpsSchema(schema: GraphQLSchema): string {
  return `# Emitted from the code by \`npm run schema:emit\`; do not edit by hand.\n\n${printSchema(lexicographicSortSchema(schema))}\n`;
}

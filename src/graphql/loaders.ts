import DataLoader from 'dataloader';

/**
 * A batched read that links between GraphQL types go through (`Service.node`, `Ticket.assignee`, ...),
 * so a list costs the same number of statements whatever its length.
 *
 * The module that owns the data declares the loader (`defineLoader`) in its `<domain>.loaders.ts` and
 * provides the batch function from its services in its `create` (`provideLoader`); resolvers of any
 * module ask for it by that declaration (`ctx.loaders.load(serviceById, id)`). This layer only keeps
 * one DataLoader per declaration and request: it knows no domain.
 */
export interface LoaderDefinition<K, V> {
  readonly name: string;
  /** When two keys are the same key (default: the key itself, for string keys). */
  readonly keyOf: (key: K) => string;
  /** Never set: carries the value type for inference. */
  readonly valueType?: V;
}

export function defineLoader<K, V>(name: string, keyOf?: (key: K) => string): LoaderDefinition<K, V> {
  return { name, keyOf: keyOf ?? ((key) => String(key)) };
}

/** One set-based read for many keys; the answer is aligned with `keys` (distinct keys, in any order). */
export type BatchLoad<K, V> = (keys: readonly K[]) => Promise<readonly V[]>;

export interface LoaderProvider {
  readonly definition: LoaderDefinition<never, unknown>;
  readonly batch: BatchLoad<never, unknown>;
}

export function provideLoader<K, V>(definition: LoaderDefinition<K, V>, batch: BatchLoad<K, V>): LoaderProvider {
  return { definition, batch } as unknown as LoaderProvider;
}

/** `found` by each key's `keyOf`, aligned with `keys`; `missing` where there is none. */
export function alignTo<K, V, M>(keys: readonly K[], found: ReadonlyMap<string, V>, missing: M, keyOf: (key: K) => string = (k) => String(k)): (V | M)[] {
  return keys.map((k) => (found.has(keyOf(k)) ? found.get(keyOf(k))! : missing));
}

/** The loaders of one request (or one subscription). */
export interface RequestLoaders {
  load<K, V>(definition: LoaderDefinition<K, V>, key: K): Promise<V>;
}

export interface LoaderRegistry {
  /**
   * Loaders for one operation. They always batch the keys asked for in one tick of execution; with
   * `cache` (queries) a key is also read at most once per request. Without it (mutations, whose
   * fields run one after the other and change what an earlier one read; subscriptions, whose
   * context lives as long as the subscription) every load reads again.
   */
  forRequest(options?: { cache?: boolean }): RequestLoaders;
}

export function createLoaderRegistry(providers: readonly LoaderProvider[]): LoaderRegistry {
  const byDefinition = new Map<LoaderDefinition<never, unknown>, LoaderProvider>();
  const names = new Set<string>();
  for (const p of providers) {
    if (names.has(p.definition.name)) throw new Error(`two modules provide the loader ${p.definition.name}`);
    names.add(p.definition.name);
    byDefinition.set(p.definition, p);
  }

  /** Each distinct key once, even without a cache (the same node behind every service of a list). */
  const distinct =
    (p: LoaderProvider) =>
    async (keys: readonly unknown[]): Promise<unknown[]> => {
      const keyOf = p.definition.keyOf as (key: unknown) => string;
      const first = new Map<string, number>();
      const unique: unknown[] = [];
      const slot = keys.map((k) => {
        const id = keyOf(k);
        let i = first.get(id);
        if (i === undefined) {
          i = unique.push(k) - 1;
          first.set(id, i);
        }
        return i;
      });
      const values = await p.batch(unique as never[]);
      if (values.length !== unique.length) throw new Error(`loader ${p.definition.name} answered ${values.length} values for ${unique.length} keys`);
      return slot.map((i) => values[i]);
    };

  return {
    forRequest({ cache = true } = {}) {
      const loaders = new Map<LoaderDefinition<never, unknown>, DataLoader<unknown, unknown, string>>();
      return {
        load<K, V>(definition: LoaderDefinition<K, V>, key: K): Promise<V> {
          const def = definition as unknown as LoaderDefinition<never, unknown>;
          let loader = loaders.get(def);
          if (!loader) {
            const provider = byDefinition.get(def);
            if (!provider) throw new Error(`no module provides the loader ${definition.name}`);
            loader = new DataLoader(distinct(provider), { cache, cacheKeyFn: def.keyOf as (key: unknown) => string, name: definition.name });
            loaders.set(def, loader);
          }
          return loader.load(key) as Promise<V>;
        },
      };
    },
  };
}

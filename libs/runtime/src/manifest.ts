import type { EventDefinition } from '@tributary/events';
import type { AnyEventHandler, EventHandler } from '@tributary/kafka';

/**
 * What a service reads and writes, declared once: the topics it creates at start, the events its
 * outbox relay publishes, the handlers it must have (one per consumed event, typed by the event)
 * and what the event catalog test checks against deploy/topics.yaml.
 */
export interface ServiceManifest<
  C extends readonly EventDefinition<unknown>[] = readonly EventDefinition<unknown>[],
> {
  readonly name: string;
  /** Events it consumes, each by one handler (entry-points/kafka/handlers, in this order). */
  readonly consumes: C;
  /** Events its use cases write to the outbox in their transaction; its outbox relay publishes them. */
  readonly outbox: readonly EventDefinition<unknown>[];
  /** It also consumes the dead-letter topics of the services its configuration names. */
  readonly consumesDeadLetters: boolean;
  /** Topics it creates at start if missing: those of every event above. */
  readonly topics: readonly string[];
}

/** A service's manifest (`src/manifest.ts`). */
export function defineService<const C extends readonly EventDefinition<unknown>[]>(spec: {
  name: string;
  consumes: C;
  outbox?: readonly EventDefinition<unknown>[];
  consumesDeadLetters?: boolean;
}): ServiceManifest<C> {
  const outbox = spec.outbox ?? [];
  return {
    name: spec.name,
    consumes: spec.consumes,
    outbox,
    consumesDeadLetters: spec.consumesDeadLetters ?? false,
    topics: [...new Set([...spec.consumes, ...outbox].map((e) => e.topic))],
  };
}

type ValueOf<E> = E extends EventDefinition<infer T> ? T : never;

type HandlersFor<C extends readonly unknown[]> = { readonly [K in keyof C]: EventHandler<ValueOf<C[K]>> };

/** The handlers a manifest asks for: one per consumed event, in its order, each typed by its event. */
export type HandlersOf<M extends ServiceManifest> =
  M extends ServiceManifest<infer C> ? HandlersFor<C> : never;

/**
 * Refuses a service whose handlers are not the ones its manifest declares (a handler added or
 * dropped without the manifest, or the other way round). Dead-letter handlers are the manifest's
 * when it consumes dead letters.
 */
export function checkHandlers(manifest: ServiceManifest, handlers: readonly AnyEventHandler[]): void {
  const declared = manifest.consumes.map((e) => e.topic);
  const handled = handlers
    .map((h) => h.event.topic)
    .filter((t) => !(manifest.consumesDeadLetters && t.startsWith('dlq.')));
  const missing = declared.filter((t) => !handled.includes(t));
  const undeclared = handled.filter((t) => !declared.includes(t));
  if (missing.length > 0 || undeclared.length > 0) {
    throw new Error(
      `${manifest.name}: the handlers do not match src/manifest.ts (no handler for: ${missing.join(', ') || 'none'}; not declared: ${undeclared.join(', ') || 'none'})`,
    );
  }
}

/** Removes the listener `on` added (kafkajs' RemoveInstrumentationEventListener). */
export type RemoveListener = () => void;

/**
 * The facts a component announces about its work, typed by event name, as kafkajs' consumer does
 * (`consumer.on(consumer.events.COMMIT_OFFSETS, ...)`): the consumer runner, the outbox relay and the
 * pollers emit what they handled, committed, published or polled, and tests wait on these facts
 * instead of sleeping. Listeners run synchronously in the component's flow; one that throws is
 * ignored so that instrumentation can never fail the work it observes (node's EventEmitter would
 * throw it into the consumer loop, and types its events loosely: hence this small class).
 */
export class Instrumentation<Events extends { [K in keyof Events]: object }> {
  private readonly listeners = new Map<keyof Events, Set<(payload: never) => void>>();

  on<K extends keyof Events>(name: K, listener: (payload: Events[K]) => void): RemoveListener {
    const set = this.listeners.get(name) ?? new Set();
    this.listeners.set(name, set);
    set.add(listener);
    return () => void set.delete(listener);
  }

  emit<K extends keyof Events>(name: K, payload: Events[K]): void {
    for (const listener of this.listeners.get(name) ?? []) {
      try {
        (listener as (payload: Events[K]) => void)(payload);
      } catch {
        // A listener's failure is its own; the work goes on.
      }
    }
  }
}

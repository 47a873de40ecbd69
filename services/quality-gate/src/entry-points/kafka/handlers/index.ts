import type { EventHandler } from '@tributary/kafka';

/** One handler per consumed event; each calls a use case in domain/. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- handlers of different events share one list
export function handlers(): EventHandler<any>[] {
  return [];
}

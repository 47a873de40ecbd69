import type { EventHandler } from '@tributary/kafka';
import type { RunRefresh } from '../../refresh-runner.ts';
import { masterVersionedHandler } from './master-versioned.handler.ts';

/** One handler per consumed event; each calls a use case in domain/. */
export function handlers(
  opts: { run: RunRefresh; onMasterVersioned: boolean; dataset: string },
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- handlers of different events share one list
): EventHandler<any>[] {
  return opts.onMasterVersioned ? [masterVersionedHandler(opts.run, opts.dataset)] : [];
}

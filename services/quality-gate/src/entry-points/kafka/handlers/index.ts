import type { EventHandler } from '@tributary/kafka';
import type { MasterVersions } from '../../../domain/ports.ts';
import type { RunRefresh } from '../../refresh-runner.ts';
import { masterVersionedHandler } from './master-versioned.handler.ts';

/** One handler per consumed event; each calls a use case in domain/. */
export function handlers(
  opts: {
    run: RunRefresh;
    masters: Pick<MasterVersions, 'record'>;
    refreshOnMasterVersioned: boolean;
    /** A master source reads the versions master.versioned announces, so they are consumed even without refreshing on them. */
    masterSource: boolean;
    dataset: string;
  },
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- handlers of different events share one list
): EventHandler<any>[] {
  return opts.refreshOnMasterVersioned || opts.masterSource
    ? [masterVersionedHandler({ ...opts, refresh: opts.refreshOnMasterVersioned })]
    : [];
}

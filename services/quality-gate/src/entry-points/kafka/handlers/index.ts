import type { HandlersOf } from '@tributary/runtime';
import type { MasterVersions } from '../../../domain/ports.ts';
import type { RefreshJobs } from '../../../domain/refresh-jobs.ts';
import type { RunRefresh } from '../../refresh-runner.ts';
import { masterVersionedHandler } from './master-versioned.handler.ts';
import type { manifest } from '../../../manifest.ts';

/**
 * One handler per consumed event; each calls a use case in domain/. master.versioned is always
 * consumed: a job that refreshes on it or reads the master may be declared at any time.
 */
export function handlers(opts: {
  run: RunRefresh;
  masters: Pick<MasterVersions, 'record'>;
  jobs: RefreshJobs;
}): HandlersOf<typeof manifest> {
  return [masterVersionedHandler(opts)];
}

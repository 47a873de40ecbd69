import { AppError } from '@tributary/errors';
import type { DataContract } from '@tributary/contracts';
import type { BatchIngested, MasterVersioned } from '@tributary/events';
import type { CompactionPolicy } from './compaction.ts';
import { commitVersion, describeCommit, removeOrphans } from './merge/commit-version.ts';
import { planVersion, schemaRefusal } from './merge/plan-version.ts';
import { writeObjects } from './merge/write-objects.ts';
import type { DataStore, MasterRepository, TableSession } from './ports.ts';
import type { CanonicalImage } from './validate-batch.ts';

export interface MergeDeps {
  store: DataStore;
  repo: MasterRepository;
  compaction: CompactionPolicy;
  orphanGraceMs: number;
  hashFile: (file: string) => Promise<{ md5: string; size: number }>;
  /** The one place test-only fault injection hooks into (FAULT_INJECT). */
  faultPoint: (point: 'crash-before-commit' | 'crash-after-commit') => void;
  newEventId: () => string;
  now: () => Date;
}

export interface MergeInput {
  event: BatchIngested;
  contract: DataContract;
  runId: string;
  part: { localPath: string; rows: number; keyMin: string | null; keyMax: string | null };
  images: CanonicalImage[];
  rowsRejected: number;
  /** Files of the batch no row links to: announced with the version, not merged. */
  unreferencedFiles: string[];
  reportUri: string | null;
  workDir: string;
  mergeStartedAt: Date;
  signal: AbortSignal;
}

export type MergeResult =
  | { kind: 'merged'; version: number; event: MasterVersioned }
  | { kind: 'already-merged'; contentHash: string }
  | { kind: 'schema-changed'; reason: string };

/**
 * Merges a validated batch into the master, under the master lock: plan the new version locally
 * (merge/plan-version.ts), write its objects to the data store (merge/write-objects.ts), then
 * commit it, fenced on the version read here (merge/commit-version.ts). Cost follows the batch:
 * one new part, plus a rewrite of the parts holding keys the batch replaces, plus at most one
 * bounded compaction step; unchanged parts are only listed again in the new version's manifest.
 */
export async function mergeBatch(
  deps: MergeDeps,
  session: TableSession,
  input: MergeInput,
): Promise<MergeResult> {
  const { event, contract } = input;
  const dataset = event.dataset;
  // Another replica may have merged this batch while we validated it (a redelivery after a crash).
  const done = await deps.repo.batchRecord(event.batch_id);
  if (done?.outcome === 'merged') return { kind: 'already-merged', contentHash: done.contentHash };

  const state = await deps.repo.state(dataset);
  const refusal = schemaRefusal(state, contract, dataset);
  if (refusal !== undefined) return { kind: 'schema-changed', reason: refusal };

  const plan = await planVersion(deps, session, state, input);
  if (input.signal.aborted) throw lockLost(dataset);
  const dir = await writeObjects(deps, plan, { dataset, batchId: event.batch_id });
  const version = describeCommit(deps, state, plan, dir, input);

  deps.faultPoint('crash-before-commit');
  if (input.signal.aborted) throw lockLost(dataset);
  await commitVersion(deps, version);
  deps.faultPoint('crash-after-commit');

  await removeOrphans(deps, dataset);
  return { kind: 'merged', version: plan.version, event: version.events.masterVersioned };
}

function lockLost(dataset: string): AppError {
  return new AppError('PRE_ERR_LOCK_LOST', `lost the master lock of ${dataset} before committing`);
}

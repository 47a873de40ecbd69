import type { Answer, DecisionFact, LineageFacts, MasterVersionFact } from './facts.ts';
import type { LineageSources } from './sources.ts';
import { stitchLineage, type Lineage, type LinkKind } from './stitch.ts';

/** Where a lineage query starts: a batch, a master version of a dataset, or a published dataset version. */
export type LineageQuery =
  | { batchId: string; dataset?: string | undefined }
  | { dataset: string; masterVersion: number }
  | { datasetVersion: string; dataset?: string | undefined };

/** Reads every part of the chain a query names, in as few round trips as the links allow. */
export async function collectLineage(query: LineageQuery, sources: LineageSources): Promise<LineageFacts> {
  const datasetHint = query.dataset;
  const runsRead = sources.qualityRuns();
  const catalogRead = sources.catalog(datasetHint);

  let dataset = datasetHint ?? null;
  let batches: LineageFacts['batches'] = [];
  let master: Answer<MasterVersionFact> = { missing: true };
  const runs = await runsRead;
  const entries = await catalogRead;
  let masterVersion = 'masterVersion' in query ? query.masterVersion : undefined;

  if ('batchId' in query) {
    const answer = await sources.batch(query.batchId);
    batches = [{ batchId: query.batchId, answer }];
    if ('value' in answer) dataset ??= answer.value.dataset;
    if (dataset !== null) master = await sources.masterVersionOfBatch(dataset, query.batchId);
  } else {
    if ('datasetVersion' in query) {
      const v = query.datasetVersion;
      const run = 'value' in runs ? runs.value.find((r) => r.datasetVersion === v) : undefined;
      const entry = 'value' in entries ? entries.value.find((e) => e.datasetVersion === v) : undefined;
      dataset ??= run?.dataset ?? entry?.dataset ?? null;
      masterVersion = run?.masterVersion ?? entry?.masterVersion ?? undefined;
    }
    if (dataset !== null && masterVersion !== undefined) {
      master = await sources.masterVersion(dataset, masterVersion);
      if ('value' in master) {
        batches = await Promise.all(
          master.value.batch_ids.map(async (batchId) => ({ batchId, answer: await sources.batch(batchId) })),
        );
      }
    }
  }

  const version = 'value' in master ? master.value.version : masterVersion;
  const decisions: Answer<DecisionFact[]> =
    dataset !== null && version !== undefined ? await sources.decisions(dataset, version) : { value: [] };

  return {
    dataset,
    batches,
    master,
    qualityRuns: runs,
    catalog: entries,
    decisions,
    ...('datasetVersion' in query ? { datasetVersion: query.datasetVersion } : {}),
  };
}

/** Collects and stitches: the whole chain for a query. */
export async function queryLineage(query: LineageQuery, sources: LineageSources): Promise<Lineage> {
  return stitchLineage(await collectLineage(query, sources));
}

/** True when the link the query starts from exists (or could not be read): else the query names nothing known. */
export function foundStart(query: LineageQuery, lineage: Lineage): boolean {
  const kinds: LinkKind[] =
    'batchId' in query
      ? ['batch']
      : 'datasetVersion' in query
        ? ['quality report', 'published manifest']
        : ['master version'];
  return lineage.links.some((l) => kinds.includes(l.kind) && l.state !== 'missing');
}

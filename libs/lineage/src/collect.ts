import type {
  Answer,
  CatalogFact,
  DecisionFact,
  LineageFacts,
  MasterVersionFact,
  QualityRunFact,
} from './facts.ts';
import type { LineageSources } from './sources.ts';
import { stitchLineage, type Lineage, type LinkKind } from './stitch.ts';

/** Where a lineage query starts: a batch, a master version of a dataset, or a published dataset version. */
export type LineageQuery =
  | { batchId: string; dataset?: string | undefined }
  | { dataset: string; masterVersion: number }
  | { datasetVersion: string; dataset?: string | undefined };

/** Reads every part of the chain a query names, in as few round trips as the links allow. */
export async function collectLineage(query: LineageQuery, sources: LineageSources): Promise<LineageFacts> {
  let dataset = query.dataset ?? null;
  let batches: LineageFacts['batches'] = [];
  let master: Answer<MasterVersionFact> = { missing: true };
  let masterVersion = 'masterVersion' in query ? query.masterVersion : undefined;
  // By dataset version: the newest runs and entries are scanned for it (it names its master version).
  let scanned: { runs: Answer<QualityRunFact[]>; entries: Answer<CatalogFact[]> } | undefined;

  if ('batchId' in query) {
    const answer = await sources.batch(query.batchId);
    batches = [{ batchId: query.batchId, answer }];
    if ('value' in answer) dataset ??= answer.value.dataset;
    if (dataset !== null) master = await sources.masterVersionOfBatch(dataset, query.batchId);
  } else {
    if ('datasetVersion' in query) {
      const [runs, entries] = await Promise.all([sources.qualityRuns(), sources.catalog(query.dataset)]);
      scanned = { runs, entries };
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
  const known = dataset !== null && version !== undefined ? { dataset, masterVersion: version } : undefined;
  // Every run and entry of the master version (a later refresh must not push the chain's out of a scan).
  const [runsOfMaster, entriesOfMaster, decisions] = await Promise.all([
    known ? sources.qualityRuns(known) : undefined,
    known ? sources.catalog(known.dataset, known.masterVersion) : undefined,
    known
      ? sources.decisions(known.dataset, known.masterVersion)
      : Promise.resolve<Answer<DecisionFact[]>>({ value: [] }),
  ]);

  return {
    dataset,
    batches,
    master,
    qualityRuns: union(scanned?.runs, runsOfMaster, (r) => r.datasetVersion),
    catalog: union(scanned?.entries, entriesOfMaster, (e) => e.datasetVersion),
    decisions,
    ...('datasetVersion' in query ? { datasetVersion: query.datasetVersion } : {}),
  };
}

/** Both answers' items (deduplicated by key); an answer that could not be read wins over none. */
function union<T>(
  a: Answer<T[]> | undefined,
  b: Answer<T[]> | undefined,
  key: (t: T) => string,
): Answer<T[]> {
  if (a === undefined && b === undefined) return { value: [] };
  if (a === undefined || b === undefined) return (a ?? b)!;
  if (!('value' in a)) return 'value' in b ? b : a;
  if (!('value' in b)) return a;
  const seen = new Set(a.value.map(key));
  return { value: [...a.value, ...b.value.filter((t) => !seen.has(key(t)))] };
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

/**
 * Puts the services' answers together into the chain batch → raw snapshot → master version →
 * quality report → published manifest → retrain request. Pure, so it is tested without the services.
 */
import type { LineageFacts, MasterVersionFact, QualityRunFact } from './facts.ts';

export type LinkKind =
  'batch' | 'raw snapshot' | 'master version' | 'quality report' | 'published manifest' | 'retrain request';

export interface LineageLink {
  kind: LinkKind;
  /** `found`, `missing` (does not exist, or not yet) or `unavailable` (the service could not be read). */
  state: 'found' | 'missing' | 'unavailable';
  id: string | null;
  location: string | null;
  checksum: string | null;
  runId: string | null;
  detail: Record<string, unknown>;
  note?: string;
}

export interface Lineage {
  dataset: string | null;
  /** Distinct run (trace) ids seen along the chain; one when the whole chain is one run. */
  traceIds: string[];
  links: LineageLink[];
}

function link(kind: LinkKind, fields: Partial<LineageLink> & Pick<LineageLink, 'state'>): LineageLink {
  return { kind, id: null, location: null, checksum: null, runId: null, detail: {}, ...fields };
}

function absent(
  kind: LinkKind,
  answer: { missing: true } | { unavailable: string },
  note: string,
): LineageLink {
  return 'unavailable' in answer
    ? link(kind, { state: 'unavailable', note: answer.unavailable })
    : link(kind, { state: 'missing', note });
}

/** The raw checksum the master recorded for a batch, when its `raw_checksums` names it. */
function recordedRawChecksum(master: MasterVersionFact | undefined, batchId: string): string | null {
  const sums = master?.raw_checksums;
  if (sums && typeof sums === 'object' && !Array.isArray(sums)) {
    const value = (sums as Record<string, unknown>)[batchId];
    if (typeof value === 'string') return value;
  }
  return null;
}

/** Newest first by an ISO timestamp (nulls last). */
function newest<T>(items: T[], at: (t: T) => string | null | undefined): T | undefined {
  return [...items].sort((a, b) => (at(b) ?? '').localeCompare(at(a) ?? ''))[0];
}

/** Puts the services' answers together into the chain. Pure: no I/O, no clock. */
export function stitchLineage(facts: LineageFacts): Lineage {
  const links: LineageLink[] = [];
  const master = 'value' in facts.master ? facts.master.value : undefined;

  if (facts.batches.length === 0) {
    links.push(link('batch', { state: 'missing', note: 'no batch is known for this query' }));
    links.push(link('raw snapshot', { state: 'missing', note: 'no batch, so no raw snapshot' }));
  }
  for (const { batchId, answer } of facts.batches) {
    if (!('value' in answer)) {
      links.push({ ...absent('batch', answer, `ingestor has no batch ${batchId}`), id: batchId });
      links.push(
        'unavailable' in answer
          ? link('raw snapshot', { state: 'unavailable', note: `batch ${batchId} could not be read` })
          : link('raw snapshot', { state: 'missing', note: `no batch ${batchId}, so no raw snapshot` }),
      );
      continue;
    }
    const b = answer.value;
    links.push(
      link('batch', {
        state: 'found',
        id: b.batch_id,
        checksum: b.content_hash,
        runId: b.run_id,
        detail: { dataset: b.dataset, status: b.status },
      }),
    );
    const recorded = recordedRawChecksum(master, b.batch_id);
    links.push(
      b.raw_location
        ? link('raw snapshot', {
            state: 'found',
            id: b.raw_dvc_file,
            location: b.raw_location,
            checksum: b.raw_md5,
            runId: b.run_id,
            detail: {
              dvc_file: b.raw_dvc_file,
              ...(recorded === null ? {} : { checksum_recorded_by_master: recorded }),
              ...(recorded !== null && b.raw_md5 !== null && recorded !== b.raw_md5
                ? { checksum_mismatch: true }
                : {}),
            },
          })
        : link('raw snapshot', {
            state: 'missing',
            id: b.batch_id,
            note: `batch ${b.batch_id} is ${b.status}: no raw snapshot (yet)`,
          }),
    );
  }

  links.push(
    master
      ? link('master version', {
          state: 'found',
          id: `${master.dataset}@${master.version}`,
          location: master.location,
          checksum: master.checksum,
          runId: master.run_id ?? null,
          detail: {
            version: master.version,
            dvc_file: master.dvc_file,
            row_count: master.row_count,
            batch_ids: master.batch_ids,
            committed_at: master.committed_at,
          },
        })
      : absent(
          'master version',
          facts.master as { missing: true } | { unavailable: string },
          'no master version merged it (yet)',
        ),
  );

  // Quality run and published entry: by dataset version when asked so, else by master version.
  const matches = (dataset: string, masterVersion: number | null, datasetVersion: string): boolean =>
    facts.datasetVersion !== undefined
      ? datasetVersion === facts.datasetVersion
      : master !== undefined && dataset === master.dataset && masterVersion === master.version;

  let run: QualityRunFact | undefined;
  if ('value' in facts.qualityRuns) {
    run = newest(
      facts.qualityRuns.value.filter((r) => matches(r.dataset, r.masterVersion, r.datasetVersion)),
      (r) => r.finishedAt,
    );
    links.push(
      run
        ? link('quality report', {
            state: 'found',
            id: run.datasetVersion,
            location: run.reportUri,
            checksum: run.sourceHash,
            runId: run.runId ?? null,
            detail: {
              status: run.status,
              master_version: run.masterVersion,
              candidate: run.candidateUri,
              ...(run.reason ? { reason: run.reason } : {}),
            },
          })
        : link('quality report', { state: 'missing', note: 'no quality run for it (yet)' }),
    );
  } else {
    links.push(absent('quality report', facts.qualityRuns, ''));
  }

  if ('value' in facts.catalog) {
    const entries = facts.catalog.value.filter((e) =>
      run && facts.datasetVersion === undefined
        ? e.datasetVersion === run.datasetVersion
        : matches(e.dataset, e.masterVersion, e.datasetVersion),
    );
    const entry = newest(entries, (e) => e.publishedAt);
    links.push(
      entry
        ? link('published manifest', {
            state: 'found',
            id: entry.datasetVersion,
            location: entry.manifestUri,
            checksum: entry.checksum,
            runId: entry.runId ?? null,
            detail: {
              dataset_location: entry.location,
              quality_report: entry.qualityReportUri,
              master_version: entry.masterVersion,
            },
          })
        : link('published manifest', { state: 'missing', note: 'not published (yet)' }),
    );
  } else {
    links.push(absent('published manifest', facts.catalog, ''));
  }

  const masterVersion = master?.version ?? run?.masterVersion ?? null;
  if (masterVersion === null) {
    links.push(
      'unavailable' in facts.master
        ? link('retrain request', { state: 'unavailable', note: 'master version could not be read' })
        : link('retrain request', { state: 'missing', note: 'no master version, so no retrain decision' }),
    );
  } else if ('value' in facts.decisions) {
    // A master version is decided once per declared model: one link each, the newest per model.
    const ofVersion = facts.decisions.value.filter(
      (d) => d.masterVersion === masterVersion && d.dataset === facts.dataset,
    );
    const models = [...new Set(ofVersion.map((d) => d.modelName ?? null))];
    if (models.length === 0) {
      links.push(link('retrain request', { state: 'missing', note: 'no retrain decision for it (yet)' }));
    }
    for (const model of models) {
      const decision = newest(
        ofVersion.filter((d) => (d.modelName ?? null) === model),
        (d) => d.decidedAt,
      )!;
      links.push(
        link('retrain request', {
          state: decision.requested ? 'found' : 'missing',
          id: decision.retrainEventId,
          checksum: decision.masterChecksum,
          runId: decision.runId,
          detail: {
            decision_id: decision.id,
            ...(model === null ? {} : { model_name: model }),
            outcome: decision.outcome,
            reason: decision.reason,
          },
          ...(decision.requested ? {} : { note: `not requested: ${decision.reason}` }),
        }),
      );
    }
  } else {
    links.push(absent('retrain request', facts.decisions, ''));
  }

  const traceIds = [...new Set(links.map((l) => l.runId).filter((id): id is string => !!id))];
  return { dataset: facts.dataset, traceIds, links };
}

/** The chain as text, one block per link. */
export function formatLineage(lineage: Lineage): string {
  const out: string[] = [];
  out.push(`dataset: ${lineage.dataset ?? '(unknown)'}`);
  out.push(
    lineage.traceIds.length === 1
      ? `trace id: ${lineage.traceIds[0]}`
      : `trace ids: ${lineage.traceIds.length === 0 ? '(none)' : lineage.traceIds.join(', ')}`,
  );
  for (const l of lineage.links) {
    const head =
      l.state === 'found'
        ? `${l.kind}: ${l.id ?? ''}`.trimEnd()
        : `${l.kind}: ${l.state}${l.note ? ` (${l.note})` : ''}`;
    out.push(`→ ${head}`);
    if (l.location) out.push(`    location: ${l.location}`);
    if (l.checksum) out.push(`    checksum: ${l.checksum}`);
    if (l.runId) out.push(`    run id:   ${l.runId}`);
    for (const [k, v] of Object.entries(l.detail)) {
      if (v !== null && v !== undefined)
        out.push(`    ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
    }
    if (l.state === 'found' && l.note) out.push(`    note: ${l.note}`);
  }
  return `${out.join('\n')}\n`;
}

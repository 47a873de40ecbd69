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

/** Oldest first by an ISO timestamp (nulls last). */
function oldest<T>(items: T[], at: (t: T) => string | null | undefined): T | undefined {
  return [...items].sort((a, b) => (at(a) ?? '\uffff').localeCompare(at(b) ?? '\uffff'))[0];
}

/** Of one job's runs of a master version: the one the version triggered, else the first (never a later refresh). */
function chainRun(runs: QualityRunFact[]): QualityRunFact {
  const triggered = runs.filter((r) => r.trigger === 'MASTER_VERSIONED');
  return oldest(triggered.length > 0 ? triggered : runs, (r) => r.startedAt ?? r.finishedAt)!;
}

function describeRun(r: QualityRunFact): Record<string, unknown> {
  return {
    dataset_version: r.datasetVersion,
    ...(r.job === undefined ? {} : { job: r.job }),
    ...(r.trigger === undefined ? {} : { trigger: r.trigger }),
    status: r.status,
    ...(r.reason ? { reason: r.reason } : {}),
    started_at: r.startedAt ?? null,
    run_id: r.runId ?? null,
  };
}

/**
 * The manifest a run published (its dataset version's catalog entry); without a run (the quality-gate
 * could not be read), the first entry published from the master version, or the asked dataset version's.
 */
function publishedLink(
  facts: LineageFacts,
  run: QualityRunFact | undefined,
  master: MasterVersionFact | undefined,
): LineageLink {
  if (!('value' in facts.catalog)) return absent('published manifest', facts.catalog, '');
  const all = facts.catalog.value;
  const entry = run
    ? all.find((e) => e.datasetVersion === run.datasetVersion)
    : facts.datasetVersion !== undefined
      ? all.find((e) => e.datasetVersion === facts.datasetVersion)
      : master === undefined
        ? undefined
        : oldest(
            all.filter((e) => e.dataset === master.dataset && e.masterVersion === master.version),
            (e) => e.publishedAt,
          );
  if (!entry) {
    const note =
      run && run.status !== 'passed' && run.status !== 'running' && run.status !== 'retrying'
        ? `${run.datasetVersion} was not published (${run.status})`
        : 'not published (yet)';
    return link('published manifest', { state: 'missing', note });
  }
  return link('published manifest', {
    state: 'found',
    id: entry.datasetVersion,
    location: entry.manifestUri,
    checksum: entry.checksum,
    runId: entry.runId ?? null,
    detail: {
      dataset_location: entry.location,
      quality_report: entry.qualityReportUri,
      master_version: entry.masterVersion,
      ...(run === undefined && facts.datasetVersion === undefined
        ? { picked: 'no quality run of the master version was read: its first published entry' }
        : {}),
    },
  });
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

  // Quality runs and published entries: by dataset version when asked so, else the runs of the master
  // version. Per job, the run the master version triggered (else its first run) is the chain's; a later
  // refresh of the same version (manual, scheduled) is listed with its trigger, never put in its place.
  const chosen: QualityRunFact[] = [];
  if ('value' in facts.qualityRuns) {
    const all = facts.qualityRuns.value;
    const ofMaster =
      master === undefined
        ? []
        : all.filter((r) => r.dataset === master.dataset && r.masterVersion === master.version);
    if (facts.datasetVersion !== undefined) {
      const asked = all.find((r) => r.datasetVersion === facts.datasetVersion);
      if (asked) chosen.push(asked);
    } else {
      const jobs = [...new Set(ofMaster.map((r) => r.job ?? ''))].sort();
      for (const job of jobs) chosen.push(chainRun(ofMaster.filter((r) => (r.job ?? '') === job)));
    }
    const others = ofMaster.filter((r) => !chosen.includes(r));
    if (chosen.length === 0) {
      links.push(link('quality report', { state: 'missing', note: 'no quality run for it (yet)' }));
      links.push(publishedLink(facts, undefined, master));
    }
    for (const run of chosen) {
      const rest = others.filter((r) => (r.job ?? '') === (run.job ?? ''));
      links.push(
        link('quality report', {
          state: 'found',
          id: run.datasetVersion,
          location: run.reportUri,
          checksum: run.sourceHash,
          runId: run.runId ?? null,
          detail: {
            status: run.status,
            ...(run.job === undefined ? {} : { job: run.job }),
            ...(run.trigger === undefined ? {} : { trigger: run.trigger }),
            master_version: run.masterVersion,
            candidate: run.candidateUri,
            ...(run.reason ? { reason: run.reason } : {}),
            ...(rest.length === 0 ? {} : { other_runs: rest.map(describeRun) }),
          },
        }),
      );
      links.push(publishedLink(facts, run, master));
    }
  } else {
    links.push(absent('quality report', facts.qualityRuns, ''));
    links.push(publishedLink(facts, undefined, master));
  }

  const masterVersion = master?.version ?? chosen[0]?.masterVersion ?? null;
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

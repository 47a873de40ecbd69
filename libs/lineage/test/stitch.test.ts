import { describe, expect, it } from 'vitest';
import { formatLineage, stitchLineage, type LineageFacts } from '../src/index.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

const batch = {
  batch_id: 'b-1',
  dataset: 'reviews',
  status: 'ingested',
  content_hash: 'sha-content',
  raw_location: 's3://lake/raw/reviews/b-1',
  raw_dvc_file: 'raw/reviews/b-1.dvc',
  raw_md5: 'md5-raw',
  run_id: TRACE,
};

const master = {
  dataset: 'reviews',
  version: 3,
  checksum: 'md5-master',
  row_count: 1200,
  location: 's3://lake/master/reviews',
  dvc_file: 'master/reviews.dvc',
  batch_ids: ['b-1'],
  raw_checksums: { 'b-1': 'md5-raw' },
  committed_at: '2026-01-01T00:00:00.000Z',
};

function facts(overrides: Partial<LineageFacts> = {}): LineageFacts {
  return {
    dataset: 'reviews',
    batches: [{ batchId: 'b-1', answer: { value: batch } }],
    master: { value: master },
    qualityRuns: {
      value: [
        {
          datasetVersion: 'reviews-v2',
          dataset: 'reviews',
          masterVersion: 2,
          status: 'passed',
          reason: null,
          sourceHash: 'h2',
          reportUri: 's3://lake/reports/v2.html',
          candidateUri: null,
          finishedAt: '2025-12-01T00:00:00.000Z',
        },
        {
          datasetVersion: 'reviews-v3',
          dataset: 'reviews',
          masterVersion: 3,
          status: 'passed',
          reason: null,
          sourceHash: 'h3',
          reportUri: 's3://lake/reports/v3.html',
          candidateUri: 's3://lake/candidates/v3',
          finishedAt: '2026-01-01T01:00:00.000Z',
        },
      ],
    },
    catalog: {
      value: [
        {
          dataset: 'reviews',
          datasetVersion: 'reviews-v3',
          masterVersion: 3,
          location: 's3://lake/published/reviews-v3',
          checksum: 'md5-published',
          manifestUri: 's3://lake/published/reviews-v3/manifest.json',
          qualityReportUri: 's3://lake/reports/v3.html',
          publishedAt: '2026-01-01T02:00:00.000Z',
        },
      ],
    },
    decisions: {
      value: [
        {
          id: 'd-1',
          dataset: 'reviews',
          masterVersion: 3,
          runId: TRACE,
          outcome: 'requested',
          requested: true,
          reason: 'enough new rows',
          masterChecksum: 'md5-master',
          retrainEventId: 'evt-retrain',
          decidedAt: '2026-01-01T00:00:01.000Z',
        },
      ],
    },
    ...overrides,
  };
}

describe('stitchLineage', () => {
  it('when a master version was decided for two declared models, then the chain has one retrain link per model', () => {
    const decided = (id: string, modelName: string, requested: boolean, decidedAt: string) => ({
      id,
      dataset: 'reviews',
      masterVersion: 3,
      modelName,
      runId: TRACE,
      outcome: requested ? 'threshold_reached' : 'below_threshold',
      requested,
      reason: requested ? 'enough new rows' : 'not enough new rows',
      masterChecksum: 'md5-master',
      retrainEventId: requested ? `evt-${id}` : null,
      decidedAt,
    });
    const lineage = stitchLineage(
      facts({
        decisions: {
          value: [
            decided('d-1', 'sentiment', true, '2026-01-01T00:00:01.000Z'),
            decided('d-2', 'toxicity', false, '2026-01-01T00:00:02.000Z'),
          ],
        },
      }),
    );
    const retrain = lineage.links.filter((l) => l.kind === 'retrain request');
    expect(retrain.map((l) => [l.state, l.id, l.detail?.model_name])).toEqual([
      ['found', 'evt-d-1', 'sentiment'],
      ['missing', null, 'toxicity'],
    ]);
  });

  it('when every service knows its link, then the chain has the six links in order with one trace id', () => {
    const lineage = stitchLineage(facts());
    expect(lineage.links.map((l) => [l.kind, l.state, l.id])).toEqual([
      ['batch', 'found', 'b-1'],
      ['raw snapshot', 'found', 'raw/reviews/b-1.dvc'],
      ['master version', 'found', 'reviews@3'],
      ['quality report', 'found', 'reviews-v3'],
      ['published manifest', 'found', 'reviews-v3'],
      ['retrain request', 'found', 'evt-retrain'],
    ]);
    expect(lineage.traceIds).toEqual([TRACE]);
    expect(lineage.links[1]).toMatchObject({ location: batch.raw_location, checksum: 'md5-raw' });
    expect(lineage.links[1]?.detail).not.toHaveProperty('checksum_mismatch');
    expect(lineage.links[4]).toMatchObject({ location: 's3://lake/published/reviews-v3/manifest.json' });
  });

  it('when the master recorded another raw checksum than the ingestor, then the raw snapshot flags the mismatch', () => {
    const lineage = stitchLineage(
      facts({ master: { value: { ...master, raw_checksums: { 'b-1': 'other' } } } }),
    );
    expect(lineage.links[1]?.detail).toMatchObject({
      checksum_recorded_by_master: 'other',
      checksum_mismatch: true,
    });
  });

  it('when the batch is not merged yet, then the later links say missing instead of failing', () => {
    const lineage = stitchLineage(facts({ master: { missing: true }, decisions: { value: [] } }));
    expect(lineage.links.map((l) => [l.kind, l.state])).toEqual([
      ['batch', 'found'],
      ['raw snapshot', 'found'],
      ['master version', 'missing'],
      ['quality report', 'missing'],
      ['published manifest', 'missing'],
      ['retrain request', 'missing'],
    ]);
    expect(formatLineage(lineage)).toContain('→ master version: missing (no master version merged it (yet))');
  });

  it('when a service cannot be read, then its link is unavailable with the reason and the rest is still stitched', () => {
    const lineage = stitchLineage(facts({ catalog: { unavailable: 'GET /admin/catalog answered 401' } }));
    expect(lineage.links[4]).toMatchObject({ state: 'unavailable', note: 'GET /admin/catalog answered 401' });
    expect(lineage.links[5]?.state).toBe('found');
  });

  it('when the policy decided not to retrain, then the retrain link is missing with the decision reason', () => {
    const base = facts();
    const decision = 'value' in base.decisions ? base.decisions.value[0] : undefined;
    if (!decision) throw new Error('fixture');
    const lineage = stitchLineage(
      facts({
        decisions: {
          value: [{ ...decision, requested: false, retrainEventId: null, reason: 'below threshold' }],
        },
      }),
    );
    expect(lineage.links[5]).toMatchObject({ state: 'missing', note: 'not requested: below threshold' });
    expect(lineage.links[5]?.detail).toMatchObject({ decision_id: 'd-1' });
  });

  it('when queried by dataset version, then the quality run and manifest of that version are picked', () => {
    const lineage = stitchLineage(
      facts({
        datasetVersion: 'reviews-v2',
        master: { missing: true },
        batches: [],
        decisions: { value: [] },
      }),
    );
    expect(lineage.links.find((l) => l.kind === 'quality report')).toMatchObject({ id: 'reviews-v2' });
    expect(lineage.links.find((l) => l.kind === 'published manifest')?.state).toBe('missing');
    expect(lineage.links[0]).toMatchObject({ kind: 'batch', state: 'missing' });
  });

  it('when the ingestor and preprocessor cannot be read, then their links and those after are unavailable', () => {
    const lineage = stitchLineage(
      facts({
        batches: [{ batchId: 'b-1', answer: { unavailable: 'fetch failed' } }],
        master: { unavailable: 'fetch failed' },
        decisions: { value: [] },
      }),
    );
    expect(lineage.links.map((l) => [l.kind, l.state])).toEqual([
      ['batch', 'unavailable'],
      ['raw snapshot', 'unavailable'],
      ['master version', 'unavailable'],
      ['quality report', 'missing'],
      ['published manifest', 'missing'],
      ['retrain request', 'unavailable'],
    ]);
  });

  it('when the batch is unknown, then the batch link is missing and names the id', () => {
    const lineage = stitchLineage(facts({ batches: [{ batchId: 'nope', answer: { missing: true } }] }));
    expect(lineage.links[0]).toMatchObject({ kind: 'batch', state: 'missing', id: 'nope' });
    expect(lineage.links[1]).toMatchObject({ kind: 'raw snapshot', state: 'missing' });
  });

  describe('the quality runs of a master version', () => {
    const triggered = {
      datasetVersion: 'reviews-v3',
      job: 'reviews-eval',
      dataset: 'reviews',
      masterVersion: 3,
      trigger: 'MASTER_VERSIONED',
      status: 'passed',
      reason: null,
      sourceHash: 'h3',
      reportUri: 's3://lake/reports/v3.html',
      candidateUri: 's3://lake/candidates/v3',
      startedAt: '2026-01-01T00:30:00.000Z',
      finishedAt: '2026-01-01T01:00:00.000Z',
      runId: TRACE,
    };
    const manual = {
      ...triggered,
      datasetVersion: 'reviews-v3-manual',
      trigger: 'MANUAL',
      status: 'failed',
      reason: 'toxicity above threshold',
      reportUri: 's3://lake/reports/v3-manual.html',
      startedAt: '2026-02-01T00:00:00.000Z',
      finishedAt: '2026-02-01T00:10:00.000Z',
      runId: 'ffffffffffffffffffffffffffffffff',
    };
    const entry = (datasetVersion: string, publishedAt: string) => ({
      dataset: 'reviews',
      datasetVersion,
      masterVersion: 3,
      location: `s3://lake/published/${datasetVersion}`,
      checksum: `md5-${datasetVersion}`,
      manifestUri: `s3://lake/published/${datasetVersion}/manifest.json`,
      qualityReportUri: `s3://lake/reports/${datasetVersion}.html`,
      publishedAt,
    });

    it('when a later manual refresh of the master version failed, then the chain shows the run the version triggered and its manifest, and lists the manual run with its trigger', () => {
      const lineage = stitchLineage(
        facts({
          qualityRuns: { value: [manual, triggered] },
          catalog: { value: [entry('reviews-v3', '2026-01-01T02:00:00.000Z')] },
        }),
      );
      expect(lineage.links.map((l) => [l.kind, l.state, l.id])).toEqual([
        ['batch', 'found', 'b-1'],
        ['raw snapshot', 'found', 'raw/reviews/b-1.dvc'],
        ['master version', 'found', 'reviews@3'],
        ['quality report', 'found', 'reviews-v3'],
        ['published manifest', 'found', 'reviews-v3'],
        ['retrain request', 'found', 'evt-retrain'],
      ]);
      const report = lineage.links[3];
      expect(report?.detail).toMatchObject({
        status: 'passed',
        trigger: 'MASTER_VERSIONED',
        job: 'reviews-eval',
      });
      expect(report?.detail['other_runs']).toEqual([
        {
          dataset_version: 'reviews-v3-manual',
          job: 'reviews-eval',
          trigger: 'MANUAL',
          status: 'failed',
          reason: 'toxicity above threshold',
          started_at: manual.startedAt,
          run_id: manual.runId,
        },
      ]);
      expect(lineage.traceIds).toEqual([TRACE]);
      expect(formatLineage(lineage)).toContain('trigger: MASTER_VERSIONED');
    });

    it('when a later manual refresh of the master version passed and published, then the manifest is the one the triggered run published, not the current one', () => {
      const lineage = stitchLineage(
        facts({
          qualityRuns: { value: [{ ...manual, status: 'passed', reason: null }, triggered] },
          catalog: {
            value: [
              entry('reviews-v3-manual', '2026-02-01T00:11:00.000Z'),
              entry('reviews-v3', '2026-01-01T02:00:00.000Z'),
            ],
          },
        }),
      );
      expect(lineage.links.find((l) => l.kind === 'published manifest')).toMatchObject({
        state: 'found',
        id: 'reviews-v3',
        location: 's3://lake/published/reviews-v3/manifest.json',
      });
    });

    it('when the triggered run failed and a later manual one published, then the chain says the triggered run was not published', () => {
      const lineage = stitchLineage(
        facts({
          qualityRuns: {
            value: [
              { ...manual, status: 'passed', reason: null },
              { ...triggered, status: 'failed', reason: 'duplicates' },
            ],
          },
          catalog: { value: [entry('reviews-v3-manual', '2026-02-01T00:11:00.000Z')] },
        }),
      );
      expect(lineage.links.find((l) => l.kind === 'quality report')).toMatchObject({
        id: 'reviews-v3',
        detail: expect.objectContaining({ status: 'failed', trigger: 'MASTER_VERSIONED' }) as unknown,
      });
      expect(lineage.links.find((l) => l.kind === 'published manifest')).toMatchObject({
        state: 'missing',
        note: 'reviews-v3 was not published (failed)',
      });
    });

    it('when the dataset has two evaluation jobs, then each triggered run has its quality report and manifest, by job name', () => {
      const other = { ...triggered, job: 'reviews-holdout', datasetVersion: 'reviews-holdout-v3' };
      const lineage = stitchLineage(
        facts({
          qualityRuns: { value: [manual, other, triggered] },
          catalog: {
            value: [
              entry('reviews-v3', '2026-01-01T02:00:00.000Z'),
              entry('reviews-holdout-v3', '2026-01-01T02:00:00.000Z'),
            ],
          },
        }),
      );
      expect(lineage.links.slice(3, 7).map((l) => [l.kind, l.id])).toEqual([
        ['quality report', 'reviews-v3'],
        ['published manifest', 'reviews-v3'],
        ['quality report', 'reviews-holdout-v3'],
        ['published manifest', 'reviews-holdout-v3'],
      ]);
    });

    it('when no run was triggered by the version (schedule only), then the first run of it is shown, not a later one', () => {
      const scheduled = { ...triggered, trigger: 'SCHEDULE' };
      const lineage = stitchLineage(
        facts({
          qualityRuns: { value: [manual, scheduled] },
          catalog: { value: [entry('reviews-v3', '2026-01-01T02:00:00.000Z')] },
        }),
      );
      expect(lineage.links.find((l) => l.kind === 'quality report')).toMatchObject({
        id: 'reviews-v3',
        detail: expect.objectContaining({ trigger: 'SCHEDULE' }) as unknown,
      });
      expect(lineage.links.find((l) => l.kind === 'published manifest')?.id).toBe('reviews-v3');
    });
  });
});

/**
 * A rejection caused outside the batch (the catalog) does not bind the batch id: the same content
 * submitted again once the cause is fixed is ingested. A rejection caused by the batch's content
 * stands (idempotent), and the producer is told it is an earlier decision, when, and how to resubmit.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTributary, writeSampleBatch } from '@tributary/testing';
import { declaration, declareDatasets, startHarness, type Harness } from './helpers.ts';

let h: Harness;
let url: string;

beforeAll(async () => {
  // Nothing declared yet: penguins batches are rejected as undeclared until the test declares it.
  h = await startHarness('resubmit', {}, { declare: [] });
  url = await h.app.http.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await h?.close();
});

const submit = (dir: string, ...extra: string[]) =>
  runTributary([
    'submit',
    dir,
    '--dataset',
    'penguins',
    '--contract',
    'penguins@1.0.0',
    '--url',
    url,
    ...extra,
  ]);

interface StatusBody {
  status: string;
  attempts: { status: string; error_code: string | null }[];
}

describe('resubmitting the same content', () => {
  it('when a batch was rejected because its dataset was not declared yet, then the same command after the declaration is applied ingests it and says the earlier rejection was outside the batch', async () => {
    const dir = path.join(h.root, 'before-declared');
    await writeSampleBatch(dir, { offset: 200, count: 4 });

    const first = await submit(dir, '--wait');
    expect(first.code).toBe(2);
    expect(first.stderr).toContain('rejected: ING_ERR_UNDECLARED_DATASET: dataset penguins is not declared');
    const batchId = /^batch (\S+) submitted/m.exec(first.stdout)?.[1];
    expect(batchId).toMatch(/^penguins-[0-9a-f]{16}$/);

    await declareDatasets(h.app, declaration('penguins'));
    const second = await submit(dir, '--wait');
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(`batch ${batchId} submitted`);
    expect(second.stdout).toMatch(
      new RegExp(
        `^earlier decision \\(\\d{4}-\\d\\d-\\d\\dT[^)]+\\): batch ${batchId} with this content was rejected at \\S+ \\(ING_ERR_UNDECLARED_DATASET: .*\\) for a cause outside the batch .*; it is processed again now$`,
        'm',
      ),
    );
    expect(second.stdout).toMatch(/^ingested: file:\/\//m);
    expect(await h.ingested.waitFor((e) => e.batch_id === batchId)).toMatchObject({ dataset: 'penguins' });
    const status = (await (await fetch(`${url}/batches/${batchId}`)).json()) as StatusBody;
    expect(status.status).toBe('INGESTED');
    expect(status.attempts).toEqual([expect.objectContaining({ status: 'INGESTED', error_code: null })]);
    // Rejected once, then ingested: one rejection announced, one ingest.
    expect(await h.rejected.count((e) => e.batch_id === batchId)).toBe(1);
  });

  it('when a batch was rejected for its own content, then the same content again gets the same rejection, marked as an earlier decision with its time and how to resubmit, in the HTTP body and the CLI output', async () => {
    await declareDatasets(h.app, declaration('penguins'));
    const dir = path.join(h.root, 'bad-schema-version');
    await writeSampleBatch(dir, { offset: 210, count: 3 });
    // The files declare a schema version the contract is not at: a problem of the batch itself.
    const first = await submit(dir, '--schema-version', '9.9.9', '--wait');
    expect(first.code).toBe(2);
    expect(first.stderr).toContain('rejected: ING_ERR_SCHEMA_VERSION_MISMATCH');
    const batchId = /^batch (\S+) submitted/m.exec(first.stdout)?.[1] ?? '';
    await h.rejected.waitFor((e) => e.batch_id === batchId);

    const again = await submit(dir, '--schema-version', '9.9.9', '--json');
    expect(again.code, again.stderr).toBe(0);
    const body = JSON.parse(again.stdout) as { earlier_decision: Record<string, unknown> };
    expect(body.earlier_decision).toMatchObject({
      status: 'REJECTED',
      error_code: 'ING_ERR_SCHEMA_VERSION_MISMATCH',
      stands: true,
    });
    expect(body.earlier_decision.decided_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(body.earlier_decision.message).toContain('this is that earlier decision, and it stands');
    expect(body.earlier_decision.message).toContain('or submit under a new batch id');

    const waited = await submit(dir, '--schema-version', '9.9.9', '--wait');
    expect(waited.code).toBe(2);
    expect(waited.stderr).toMatch(/^earlier decision \(\d{4}-.*\): batch .* was rejected at .*it stands/m);
    expect(waited.stderr).toContain('rejected: ING_ERR_SCHEMA_VERSION_MISMATCH');
    await h.settled(); // the resubmissions were acknowledged by now
    expect(await h.rejected.count((e) => e.batch_id === batchId)).toBe(1);
    expect(await h.ingested.count((e) => e.batch_id === batchId)).toBe(0);

    // Invariant 2 still holds: other content under an ingested batch id is a conflict.
    const ingestedDir = path.join(h.root, 'ingested');
    await writeSampleBatch(ingestedDir, { offset: 220, count: 3 });
    const ok = await submit(ingestedDir, '--batch-id', 'resubmit-fixed', '--wait');
    expect(ok.code, ok.stderr).toBe(0);
    await writeSampleBatch(ingestedDir, { offset: 230, count: 3 });
    const other = await submit(ingestedDir, '--batch-id', 'resubmit-fixed', '--wait');
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('ING_ERR_BATCH_CONFLICT');
  });
});

/**
 * `tributary submit` when the ingestor is not there: it retries with backoff (the batch id makes the
 * retries idempotent), submits once the ingestor is up, and when it gives up says what is known of
 * the batch instead of "fetch failed".
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, runTributary, writeSampleBatch } from '@tributary/testing';
import { scratchDir, startHarness, type Harness } from './helpers.ts';

const harnesses: Harness[] = [];
afterAll(async () => {
  await Promise.all(harnesses.map((h) => h.close()));
});

describe('tributary submit against an unreachable ingestor', () => {
  it('when the ingestor starts only after the CLI began retrying, then the CLI submits the batch once it is up and --wait sees it ingested', async () => {
    const root = scratchDir('cli-retry');
    const dir = path.join(root, 'batch');
    await writeSampleBatch(dir, { offset: 150, count: 5 });
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const refused = Promise.withResolvers<void>();
    const submitting = runTributary(
      [
        'submit',
        dir,
        '--dataset',
        'penguins',
        '--contract',
        'penguins@1.0.0',
        '--url',
        url,
        '--retry-for',
        '100',
        '--wait',
      ],
      {},
      { onStderr: (soFar) => /^attempt 1: .*unreachable/m.test(soFar) && refused.resolve() },
    );
    // The CLI's first attempt finds nobody listening; the ingestor comes up after it.
    await refused.promise;
    const h = await startHarness('cli-retry');
    harnesses.push(h);
    await h.app.http.listen({ host: '127.0.0.1', port });

    const run = await submitting;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(
      /^attempt 1: http:\/\/127\.0\.0\.1:\d+ unreachable \(ECONNREFUSED\); retrying/m,
    );
    const batchId = /^batch (\S+) submitted to penguins/m.exec(run.stdout)?.[1];
    expect(batchId).toMatch(/^penguins-[0-9a-f]{16}$/);
    expect(run.stdout).toMatch(/^ingested: /m);
    await h.ingested.waitFor((e) => e.batch_id === batchId);
    expect(await h.ready.count((e) => e.batch_id === batchId)).toBe(1);
  });

  it('when the ingestor never answers, then the CLI gives up after --retry-for and says the batch state is unknown and how to check it', async () => {
    const dir = path.join(scratchDir('cli-retry-none'), 'batch');
    await writeSampleBatch(dir, { offset: 160, count: 3 });
    const url = `http://127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const run = await runTributary([
      'submit',
      dir,
      '--dataset',
      'penguins',
      '--url',
      url,
      '--retry-for',
      '3',
    ]);
    expect(run.code).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
    expect(run.stderr).not.toMatch(/^.*fetch failed$/m);
    expect(run.stderr).toContain(`the ingestor at ${url} unreachable (ECONNREFUSED) after`);
    expect(run.stderr).toMatch(
      new RegExp(
        `Whether batch penguins-[0-9a-f]{16} was accepted is unknown .*check ${url}/batches/penguins-[0-9a-f]{16}`,
      ),
    );
    expect(run.stderr).toContain('Submitting the same folder again is safe');
  });

  it('when the ingestor answers 503 (its data store is down), then the CLI retries, then reads the batch status and says the batch was not accepted', async () => {
    const h = await startHarness('cli-retry-503', {
      DATA_STORE_URI: 's3://tributary-nowhere/prefix',
      S3_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
      S3_ACCESS_KEY_ID: 'x',
      S3_SECRET_ACCESS_KEY: 'y',
    });
    harnesses.push(h);
    const url = await h.app.http.listen({ host: '127.0.0.1', port: 0 });
    const dir = path.join(h.root, 'batch');
    await writeSampleBatch(dir, { offset: 170, count: 3 });
    const run = await runTributary([
      'submit',
      dir,
      '--dataset',
      'penguins',
      '--url',
      url,
      '--retry-for',
      '3',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^attempt 1: .* answered HTTP 503 ING_ERR_UNAVAILABLE: .*; retrying/m);
    expect(run.stderr).toMatch(/^attempt 2: /m);
    expect(run.stderr).toMatch(
      /Batch penguins-[0-9a-f]{16} was not accepted: the ingestor has no such batch/,
    );
  });
});

/**
 * The operator console in a real browser (Debian's chromium driven by playwright-core) against the
 * six services running as deployed: a batch with bad rows appears in the live list and settles as
 * quarantined, its rejection report names the bad rows' reasons; a failed quality gate shows red in
 * the runs grid and its failing metric on the run page; a dead letter is replayed and leaves the
 * list; pages and actions are refused without a login or without the CSRF token. Screenshots of the
 * main pages go to docs/console/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../services/console/src/app.ts';
import { loadServiceConfig } from '../services/console/src/config.ts';
import type { ServiceApp } from '@tributary/runtime';
import { serviceEnv, testKafka, uniqueName, waitFor, writeSampleBatch } from '@tributary/testing';
import { startPipeline, type Pipeline } from './support/pipeline.ts';

const SHOTS = fileURLToPath(new URL('../docs/console/', import.meta.url));
const CONSOLE_DIR = fileURLToPath(new URL('../services/console/', import.meta.url));

let pipeline: Pipeline;
let consoleApp: ServiceApp;
let base = '';
let browser: Browser;
let context: BrowserContext;
let page: Page;

/** Debian's chromium (installed by scripts/stack.sh up); playwright's own browser download is never used. */
function chromiumPath(): string {
  for (const candidate of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) {
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('no chromium: scripts/stack.sh up installs Debian’s chromium package');
}

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

beforeAll(async () => {
  // The web client is built by its npm script, as the console's start does.
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: CONSOLE_DIR, stdio: 'pipe' });
  pipeline = await startPipeline('console');
  const id = uniqueName('t_console');
  consoleApp = await buildApp(
    loadServiceConfig(
      serviceEnv({
        TOPIC_PREFIX: pipeline.prefix,
        DATABASE_SCHEMA: id,
        CATALOG_SCHEMA: `${id}_catalog`,
        HTTP_PORT: '0',
        ADMIN_TOKEN: pipeline.adminToken,
        VIEWER_TOKEN: 'console-viewer-token-0123456789',
        SESSION_SECRET: 'console-test-session-secret-0123456789abcdef',
        LIVE_POLL_MS: '300',
        INGESTOR_URL: pipeline.url('ingestor'),
        PREPROCESSOR_URL: pipeline.url('preprocessor'),
        QUALITY_GATE_URL: pipeline.url('quality-gate'),
        PUBLISHER_URL: pipeline.url('publisher'),
        RETRAIN_POLICY_URL: pipeline.url('retrain-policy'),
      }),
    ),
  );
  base = await consoleApp.http.listen({ host: '127.0.0.1', port: 0 });
  await consoleApp.start();
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] });
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  // A script error in the page fails the test with its message rather than a timeout.
  page.on('pageerror', (err) => process.stderr.write(`console page error: ${err.message}\n`));
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await consoleApp?.stop();
  await pipeline?.stop();
});

describe('the operator console in a browser', () => {
  it('when no one logged in, then a page shows only the login form and the API answers 401', async () => {
    await page.goto(`${base}/batches`);
    await page.locator('form#login').waitFor();
    expect(await page.locator('#batch-list').count()).toBe(0);
    const res = await page.request.get(`${base}/api/batches`);
    expect(res.status()).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('CON_ERR_UNAUTHENTICATED');
    // A wrong token is refused with a message.
    await page.getByLabel('Token').fill('not-the-token-0123456789');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not the admin or viewer token');
  });

  it('when the admin logs in, then the first page lists the declared datasets', async () => {
    await page.goto(`${base}/`);
    await page.getByLabel('Token').fill(pipeline.adminToken);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('tr[data-dataset="penguins"]').waitFor();
    for (const name of ['penguins', 'seattle-weather', 'flights']) {
      expect(await page.locator(`tr[data-dataset="${name}"]`).count()).toBe(1);
    }
    expect(await page.locator('tr[data-dataset="penguins"]').textContent()).toContain('penguins@1.0.0');
    // The keyboard alone: the first Tab reaches the skip link, then the navigation, Enter follows it.
    await page.reload();
    await page.locator('tr[data-dataset="penguins"]').waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Skip to content');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Batches');
    await page.keyboard.press('Enter');
    await page.locator('h1#batches-title').waitFor();
    await page.goBack();
    await page.locator('tr[data-dataset="penguins"]').waitFor();
  });

  it('when a batch with bad rows is submitted, then it appears in the live list, settles as quarantined, and its report names the bad rows', async () => {
    await page.getByRole('link', { name: 'Batches' }).click();
    await page.getByText('Live: new batches').waitFor();
    const batchId = uniqueName('console-batch');
    expect(await page.locator(`tr[data-batch="${batchId}"]`).count()).toBe(0);
    const batch = await writeSampleBatch(join(pipeline.work, 'console-batch'), { count: 25, invalidRows: 3 });
    const retrain = pipeline.submitAndAwaitRetrain(batch, batchId);
    // No reload: the row arrives over the event stream, then its status changes in place.
    const row = page.locator(`tr[data-batch="${batchId}"]`);
    await row.waitFor({ timeout: 60_000 });
    await row.locator('[data-status="QUARANTINED"]').waitFor({ timeout: 90_000 });
    expect(await row.textContent()).toContain('3 rows refused');
    await retrain;
    await shot('batches');

    await row.getByRole('link', { name: batchId }).click();
    await page.locator('#rejections').waitFor();
    const report = page.locator('#rejections tbody tr');
    expect(await report.count()).toBe(3);
    expect(await report.first().textContent()).toMatch(/enum.*species.*Emperor/s);
    expect(await page.locator('#batch-outcome').textContent()).toContain('QUARANTINED');
    await page.getByLabel('Filter rows').fill('no such reason');
    expect(await report.count()).toBe(0);
    await page.getByLabel('Filter rows').fill('Emperor');
    expect(await report.count()).toBe(3);
    // The raw snapshot's files: size and sha256 as the ingestor took them, md5 from its DVC directory.
    const csv = batch.files.find((f) => f.path === 'rows.csv')!;
    expect(await page.locator('#files tbody tr', { hasText: 'rows.csv' }).textContent()).toMatch(
      new RegExp(`rows\\.csv\\s*${csv.size}\\s*${csv.sha256}\\s*[0-9a-f]{32}`),
    );
    await shot('batch');

    await page.getByRole('link', { name: 'lineage', exact: true }).click();
    await page.locator('ol.lineage li.found').first().waitFor();
    expect(await page.locator('ol.lineage li .kind').allTextContents()).toEqual(
      expect.arrayContaining(['batch', 'raw snapshot', 'master version']),
    );
    await shot('lineage');

    // The first page now shows the dataset's master: version 1 of the 22 good rows.
    await page.getByRole('link', { name: 'Datasets' }).click();
    const penguins = page.locator('tr[data-dataset="penguins"]');
    await penguins.getByText('v1').waitFor();
    expect(await penguins.textContent()).toContain('22');
    await shot('datasets');
    await penguins.getByRole('link', { name: 'penguins' }).first().click();
    await page.locator('.chart canvas').waitFor();
    await shot('dataset');
  });

  it('when a quality gate fails, then its run is red in the grid and the run page shows the failing metric', async () => {
    const qg = pipeline.url('quality-gate');
    const auth = { authorization: `Bearer ${pipeline.adminToken}`, 'content-type': 'application/json' };
    // The refresh of the new master version ends first, so the failing run is the manual one below.
    await waitFor(
      async () => {
        const { runs } = (await (await fetch(`${qg}/admin/runs`, { headers: auth })).json()) as {
          runs: { status: string }[];
        };
        return runs.length > 0 && runs.every((r) => r.status === 'passed' || r.status === 'failed')
          ? true
          : undefined;
      },
      { timeoutMs: 90_000, what: 'the master version refresh to end' },
    );
    const baseline = (await (
      await fetch(`${qg}/admin/baselines/baseline_eval_v1`, { headers: auth })
    ).json()) as {
      required_slices: string[];
    };
    // A slice no candidate has: coverage falls under its threshold.
    const put = await fetch(`${qg}/admin/baselines/baseline_eval_v1`, {
      method: 'PUT',
      headers: auth,
      body: JSON.stringify({ ...baseline, required_slices: [...baseline.required_slices, 'Emperor'] }),
    });
    expect(put.status).toBe(200);
    const refresh = await fetch(`${qg}/admin/refresh`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ job: 'penguins' }),
    });
    expect(refresh.status).toBe(422);
    const failed = (await refresh.json()) as { datasetVersion: string };

    await page.getByRole('link', { name: 'Runs' }).click();
    const cell = page.locator(`td[data-run="${failed.datasetVersion}"][data-task="quality_gate"]`);
    await cell.waitFor();
    expect(await cell.locator('.status').getAttribute('class')).toContain('bad');
    expect(await cell.textContent()).toContain('failed');
    await shot('runs');

    await cell.getByRole('link').click();
    await page
      .locator('#quality-report')
      .waitFor()
      .catch(async (err: unknown) => {
        throw new Error(`${String(err)}; the page reads: ${await page.locator('main').textContent()}`);
      });
    expect(await page.locator('#run-status').textContent()).toContain('coverage');
    const coverage = page.locator('#quality-report tr[data-metric="coverage"]');
    expect(await coverage.getAttribute('class')).toContain('failing');
    expect(await coverage.textContent()).toContain('fail');
    // Each task of the run with its start and duration, as the quality-gate recorded them.
    expect(await page.locator('#task-timings tbody td:nth-child(2)').allTextContents()).toEqual([
      'ingest_sources',
      'generate_candidate',
      'quality_gate',
    ]);
    await shot('run');

    await page.getByRole('link', { name: 'Quality trends' }).click();
    await page.locator('.chart').first().waitFor();
    await shot('trends');
  });

  it('when a dead letter is replayed with confirmation, then it leaves the list', async () => {
    // A message no one can decode: the ingestor dead-letters it at once.
    const producer = testKafka().producer();
    await producer.connect();
    await producer.send({
      topic: `${pipeline.prefix}batch.ready`,
      messages: [{ key: 'penguins', value: Buffer.from('not an avro record') }],
    });
    await producer.disconnect();

    const rows = page.locator('#dead-letters tbody tr[data-letter^="ingestor/"]');
    const letter = await waitFor(
      async () => {
        await page.getByRole('link', { name: 'Dead letters' }).click();
        await page.getByRole('button', { name: 'Refresh' }).click();
        await page.locator('#dead-letters, #no-dead-letters').first().waitFor();
        return (await rows.count()) > 0
          ? ((await rows.first().getAttribute('data-letter')) ?? undefined)
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1000, what: 'the dead letter in the console' },
    );
    const row = page.locator(`tr[data-letter="${letter}"]`);
    await row.getByRole('button', { name: 'Inspect' }).click();
    // Inspect shows the whole record: the decode error and where the original message was.
    const detail = page.locator('#dead-letters pre.block');
    await detail.waitFor();
    expect(await detail.textContent()).toContain(`${pipeline.prefix}batch.ready`);
    expect(await row.textContent()).toContain('EVT_ERR_DECODE');
    await shot('dead-letters');

    // Without the CSRF header the same replay is refused, though the session cookie goes along.
    const [partition, offset] = letter.slice('ingestor/'.length).split(':');
    const refused = await page.request.post(`${base}/api/dead-letters/ingestor/replay`, {
      data: { partition: Number(partition), offset },
    });
    expect(refused.status()).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('CON_ERR_CSRF');
    expect(await row.count()).toBe(1);

    await row.getByRole('button', { name: 'Replay' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Replay this dead letter?').waitFor();
    await dialog.getByRole('button', { name: 'Replay' }).click();
    await page.getByRole('status').filter({ hasText: 'Replayed' }).waitFor({ timeout: 30_000 });
    await waitFor(async () => ((await row.count()) === 0 ? true : undefined), {
      timeoutMs: 30_000,
      what: 'the replayed dead letter to leave the list',
    });
  });

  it('when the admin changes the retrain threshold, then it takes effect and the audit names the console', async () => {
    await page.goto(`${base}/decisions`);
    await page.locator('main h1').waitFor();
    await page.locator('[aria-busy="true"]').waitFor({ state: 'detached' });
    await shot('decisions');
    await page.getByRole('link', { name: 'Settings and audit' }).click();
    await page.getByLabel('New threshold (rows)').fill('1234');
    await page.getByRole('button', { name: 'Change' }).click();
    await page.getByRole('status').filter({ hasText: 'RETRAIN_THRESHOLD_ROWS is now 1234' }).waitFor();
    await page.getByText('→ 1234 by console').waitFor();
    const current = (await (
      await fetch(`${pipeline.url('retrain-policy')}/admin/settings/retrain-threshold`, {
        headers: { authorization: `Bearer ${pipeline.adminToken}` },
      })
    ).json()) as { value: number };
    expect(current.value).toBe(1234);
    await shot('settings');
  });

  it('when the viewer logs in, then pages read but actions are refused', async () => {
    const viewer = await browser.newContext();
    const viewerPage = await viewer.newPage();
    await viewerPage.goto(`${base}/dead-letters`);
    await viewerPage.getByLabel('Token').fill('console-viewer-token-0123456789');
    await viewerPage.getByRole('button', { name: 'Log in' }).click();
    await viewerPage.locator('#dlq-title').waitFor();
    expect(await viewerPage.getByRole('button', { name: 'Replay' }).count()).toBe(0);
    const session = (await (await viewerPage.request.get(`${base}/api/session`)).json()) as { csrf: string };
    const refused = await viewerPage.request.put(`${base}/api/settings/retrain-threshold`, {
      data: { value: 5 },
      headers: { 'x-csrf-token': session.csrf },
    });
    expect(refused.status()).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('CON_ERR_FORBIDDEN');
    await viewer.close();
  });
});

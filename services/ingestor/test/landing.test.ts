import { watch, type FSWatcher } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceApp } from '@tributary/runtime';
import { batchRejected, masterVersioned, newEventId } from '@tributary/events';
import { batchRejectedFixture, masterVersionedFixture } from '@tributary/events/fixtures';
import { waitFor, waitForCaughtUp, waitForTick, writeSampleBatch } from '@tributary/testing';
import { FsLandingZone } from '../src/data-access/landing-zone.ts';
import { listKeys, scratchDir, startHarness, type Harness } from './helpers.ts';
import { buildApp } from '../src/app.ts';

let h: Harness;
let second: ServiceApp;
let landing: string;
let store: string;
const watchers: FSWatcher[] = [];
/** Both replicas watching the landing folder (a test below names a value `second`). */
const replicas = (): [ServiceApp, ServiceApp] => [h.app, second];

beforeAll(async () => {
  landing = path.join(scratchDir('landing-dir'), 'landing');
  h = await startHarness('landing', {
    LANDING_DIR: landing,
    LANDING_SCAN_INTERVAL_MS: '300',
    LANDING_CLAIM_TIMEOUT_MS: '3000',
    LANDING_DEFAULT_PRODUCER: 'nightly-drop',
  });
  // A second replica: same schema, topics, consumer group and landing folder.
  second = await buildApp(h.config);
  await second.start();
  store = fileURLToPath(h.config.DATA_STORE_URI);
});
afterAll(async () => {
  for (const w of watchers) w.close();
  await second?.stop();
  await h?.close();
  await fs.rm(path.dirname(landing), { recursive: true, force: true });
});

/** Fills a batch folder, then drops `_READY` last, as the seed's producers do; records marker names seen. */
async function drop(
  batchId: string,
  offset: number,
  manifest?: unknown,
): Promise<{ dir: string; seen: Set<string> }> {
  const dir = path.join(landing, 'penguins', batchId);
  await writeSampleBatch(dir, { offset, count: 8, images: 2 });
  if (manifest !== undefined) await fs.writeFile(path.join(dir, 'batch.json'), JSON.stringify(manifest));
  const seen = new Set<string>();
  watchers.push(watch(dir, (_event, name) => name && seen.add(String(name))));
  await fs.writeFile(path.join(dir, '_READY'), '');
  return { dir, seen };
}

async function markers(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).filter((n) => n.startsWith('_')).sort();
}

/** What the preprocessor announces once it merged `batchId` (alone) into `version`. */
async function merged(batchId: string, version: number, unreferenced: string[] = []): Promise<void> {
  await h.ingested.waitFor((e) => e.batch_id === batchId);
  await h.emit(masterVersioned, {
    ...masterVersionedFixture,
    event_id: newEventId(),
    dataset: 'penguins',
    master_version: version,
    batch_ids: [batchId],
    rows_rejected: 1,
    rejection_report_uri: `file:///reports/penguins/${batchId}/rejections.jsonl`,
    unreferenced_files: unreferenced,
  });
}

/** What a landing folder holds besides its markers and batch.json, recursively and sorted. */
async function dataFiles(dir: string): Promise<string[]> {
  return (await fs.readdir(dir, { recursive: true }))
    .filter((n) => !n.startsWith('_') && n !== 'batch.json')
    .sort();
}

async function settled(dir: string): Promise<string[]> {
  return waitFor(
    async () => {
      const names = await markers(dir);
      const decided = names.includes('_DONE') || names.includes('_REJECTED');
      return decided && !names.includes('_PROCESSING') ? names : undefined;
    },
    { timeoutMs: 40_000, what: `${dir} settled` },
  );
}

describe('ingestor: landing zone', () => {
  it('when batches are dropped with _READY and two replicas watch the folder, then each batch is taken once: _READY → _PROCESSING → _DONE, one batch.ingested', async () => {
    const ids = ['drop-1', 'drop-2', 'drop-3', 'drop-4', 'drop-5'];
    const drops = await Promise.all(
      ids.map((id, i) =>
        drop(
          id,
          i * 10,
          i === 0
            ? { producer: 'field-team', contract: 'penguins@1.0.0', schema_version: '1.0.0' }
            : undefined,
        ),
      ),
    );
    // Ingested is not done: the seed releases the lock only once the batch is in a master version.
    for (const id of ids) await h.ingested.waitFor((e) => e.batch_id === id);
    // Each replica scans again: neither settles a batch that is only ingested.
    const since = Date.now();
    await Promise.all(
      replicas().map((app) =>
        waitForTick(
          app.workers.find((w) => w.name === 'landing-watcher')!,
          since,
        ),
      ),
    );
    for (const d of drops) expect(await markers(d.dir)).toEqual(['_PROCESSING']);
    // The first batch carried a file no row links to: the producer is told in _DONE and the status.
    for (const [i, id] of ids.entries()) await merged(id, i + 1, i === 0 ? ['notes/README.md'] : []);
    for (const d of drops) expect(await settled(d.dir)).toEqual(['_DONE']);
    // Merged: the files were moved (raw/ holds them) and the folder cleaned, as the seed does.
    for (const d of drops) expect(await dataFiles(d.dir)).toEqual([]);
    await h.settled(replicas()[1]); // a second taking of any batch would show by now

    for (const [i, id] of ids.entries()) {
      expect(await h.ready.count((e) => e.batch_id === id)).toBe(1);
      expect(await h.ingested.count((e) => e.batch_id === id)).toBe(1);
      expect(drops[i]!.seen.has('_PROCESSING')).toBe(true);
      const done = JSON.parse(await fs.readFile(path.join(drops[i]!.dir, '_DONE'), 'utf8')) as Record<
        string,
        unknown
      >;
      const ingested = await h.ingested.waitFor((e) => e.batch_id === id);
      // One run from the drop to the ingest: the watcher's trace id is the batch's run id.
      expect(done).toMatchObject({
        status: 'MERGED',
        master_version: i + 1,
        rows_rejected: 1,
        report_uri: `file:///reports/penguins/${id}/rejections.jsonl`,
        batch_id: id,
        dataset: 'penguins',
        run_id: ingested.run_id,
        unreferenced_files: i === 0 ? ['notes/README.md'] : [],
      });
      expect((await h.ready.waitFor((e) => e.batch_id === id)).run_id).toBe(ingested.run_id);
      expect(await listKeys(store, `raw/penguins/${id}/`)).toHaveLength(3);
    }
    const status = await h.app.http.inject({ method: 'GET', url: '/batches/drop-1' });
    expect(status.json()).toMatchObject({
      status: 'INGESTED',
      merge: {
        status: 'MERGED',
        master_version: 1,
        rows_rejected: 1,
        error_code: null,
        unreferenced_files: ['notes/README.md'],
      },
    });
    const first = await h.ready.waitFor((e) => e.batch_id === 'drop-1');
    expect(first).toMatchObject({ source: 'LANDING_ZONE', producer: 'field-team' });
    expect(first.files.find((f) => f.path === 'rows.csv')?.schema_version).toBe('1.0.0');
    expect(first.files.map((f) => f.path)).not.toContain('batch.json');
    const second = await h.ready.waitFor((e) => e.batch_id === 'drop-2');
    expect(second).toMatchObject({
      producer: 'nightly-drop',
      contract: { name: 'penguins', version: '1.0.0' },
    });
  });

  it('when many watchers rename the same _READY at the same moment, then exactly one of them gets the batch', async () => {
    const root = path.join(path.dirname(landing), 'contention');
    await fs.mkdir(path.join(root, 'penguins', 'race'), { recursive: true });
    await fs.writeFile(path.join(root, 'penguins', 'race', '_READY'), '');
    const zones = Array.from({ length: 16 }, () => new FsLandingZone(root));
    const wins = await Promise.all(zones.map((z) => z.claim({ folder: 'penguins', batchId: 'race' })));
    expect(wins.filter(Boolean)).toHaveLength(1);
    expect(await markers(path.join(root, 'penguins', 'race'))).toEqual(['_PROCESSING']);
  });

  it('when many watchers saw the same stale _PROCESSING and take it over, then exactly one of them does', async () => {
    const root = path.join(path.dirname(landing), 'takeover');
    const ref = { folder: 'penguins', batchId: 'stale' };
    await fs.mkdir(path.join(root, 'penguins', 'stale'), { recursive: true });
    await fs.writeFile(path.join(root, 'penguins', 'stale', '_PROCESSING'), '');
    // Each scan saw the marker as it was; the first takeover puts it back before the others rename it.
    const [seen] = (await new FsLandingZone(root).scan()).filter((e) => e.batchId === 'stale');
    const [first, ...late] = Array.from({ length: 16 }, () => new FsLandingZone(root));
    expect(await first!.takeOver(ref, seen!.processing!.changedAtMs)).toBe(true);
    // The others act on what they saw before that takeover: none may take the marker over again.
    const wins = await Promise.all(late.map((z) => z.takeOver(ref, seen!.processing!.changedAtMs)));
    expect(wins.filter(Boolean)).toHaveLength(0);
    expect(await markers(path.join(root, 'penguins', 'stale'))).toEqual(['_PROCESSING']);
  });

  it('when a dropped batch names a contract version its dataset does not accept, then _PROCESSING is replaced by _REJECTED holding the reason', async () => {
    const { dir } = await drop('drop-bad', 100, { contract: 'penguins@7.0.0' });
    expect(await settled(dir)).toEqual(['_REJECTED']);
    const rejected = JSON.parse(await fs.readFile(path.join(dir, '_REJECTED'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(rejected).toMatchObject({
      status: 'REJECTED',
      error_code: 'ING_ERR_CONTRACT_NOT_ACCEPTED',
      reason:
        'dataset penguins does not accept contract penguins@7.0.0: its declaration accepts penguins@1.0.0',
    });
    await h.rejected.waitFor(
      (e) => e.batch_id === 'drop-bad' && e.error_code === 'ING_ERR_CONTRACT_NOT_ACCEPTED',
    );
    expect(await listKeys(store, 'raw/penguins/drop-bad')).toEqual([]);
  });

  it('when batch.json is not valid, then the batch is refused at once with _REJECTED naming the problem', async () => {
    const { dir } = await drop('drop-manifest', 110, { contract: 42 });
    expect(await settled(dir)).toEqual(['_REJECTED']);
    const rejected = JSON.parse(await fs.readFile(path.join(dir, '_REJECTED'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(rejected).toMatchObject({ error_code: 'ING_ERR_BAD_MANIFEST' });
    expect(rejected.reason).toContain('contract');
  });

  it('when a watcher died after renaming _READY and before announcing the batch, then another takes the stale claim over', async () => {
    const dir = path.join(landing, 'penguins', 'drop-stale');
    await writeSampleBatch(dir, { offset: 120, count: 4 });
    // What a watcher leaves when it dies right after its rename: an empty _PROCESSING.
    await fs.writeFile(path.join(dir, '_PROCESSING'), '');
    const claimedAt = Date.now();

    await merged('drop-stale', 1);
    expect(await settled(dir)).toEqual(['_DONE']);
    expect(Date.now() - claimedAt).toBeGreaterThanOrEqual(3000); // not before LANDING_CLAIM_TIMEOUT_MS
    await h.ingested.waitFor((e) => e.batch_id === 'drop-stale');
    expect(await h.ready.count((e) => e.batch_id === 'drop-stale')).toBe(1);
  });

  it('when the preprocessor rejects an ingested batch, then _PROCESSING is replaced by _REJECTED with its reason and report, and a redelivered merge changes nothing', async () => {
    const { dir } = await drop('drop-invalid', 200);
    const files = await dataFiles(dir);
    await h.ingested.waitFor((e) => e.batch_id === 'drop-invalid');
    const reason = 'rows.csv line 3: body_mass_g is not a number';
    await h.emit(batchRejected, {
      ...batchRejectedFixture,
      event_id: newEventId(),
      dataset: 'penguins',
      batch_id: 'drop-invalid',
      stage: 'VALIDATE',
      partial: false,
      error_code: 'PRE_ERR_CONTRACT_VIOLATION',
      reason,
      report_uri: 'file:///reports/penguins/drop-invalid/rejections.jsonl',
    });
    expect(await settled(dir)).toEqual(['_REJECTED']);
    // Rejected: the producer's files stay, to be fixed in place.
    expect(files).toContain('rows.csv');
    expect(await dataFiles(dir)).toEqual(files);
    const body = JSON.parse(await fs.readFile(path.join(dir, '_REJECTED'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(body).toMatchObject({
      status: 'REJECTED',
      stage: 'PREPROCESS',
      error_code: 'PRE_ERR_CONTRACT_VIOLATION',
      reason,
      report_uri: 'file:///reports/penguins/drop-invalid/rejections.jsonl',
    });
    // The first decision stands: a stray master.versioned naming the batch does not turn it into merged.
    await h.emit(masterVersioned, {
      ...masterVersionedFixture,
      event_id: newEventId(),
      dataset: 'penguins',
      batch_ids: ['drop-invalid'],
    });
    await waitForCaughtUp(h.app.runner);
    const [row] = await h.query<{ merge_status: string }>('SELECT merge_status FROM batches WHERE id = $1', [
      'drop-invalid',
    ]);
    expect(row!.merge_status).toBe('REJECTED');
  });
});

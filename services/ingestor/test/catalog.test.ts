import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { specHash } from '@tributary/catalog';
import { contractSchema, defaultContractsDir } from '@tributary/contracts';
import type { ServiceApp } from '@tributary/runtime';
import { batchReadyFor, captureLogs, waitFor, writeSampleBatch } from '@tributary/testing';
import { loadServiceConfig } from '../src/config.ts';
import { declaration, ingestorEnv, listKeys, scratchDir, startHarness, type Harness } from './helpers.ts';
import { buildApp } from '../src/app.ts';

const AUTH = { authorization: 'Bearer test-admin-token-0123456789' };

/** Fills a landing batch folder, then drops `_READY` last. */
async function drop(landing: string, folder: string, batchId: string, offset: number): Promise<string> {
  const dir = path.join(landing, folder, batchId);
  await writeSampleBatch(dir, { offset, count: 4, images: 1 });
  await fs.writeFile(path.join(dir, '_READY'), '');
  return dir;
}

/** The marker a settled landing folder holds, with its JSON body. */
async function settledMarker(dir: string): Promise<{ marker: string; body: Record<string, unknown> }> {
  return waitFor(
    async () => {
      const names = (await fs.readdir(dir)).filter((n) => n.startsWith('_'));
      const marker = names.find((n) => n === '_DONE' || n === '_REJECTED');
      if (!marker || names.includes('_PROCESSING')) return undefined;
      const body = JSON.parse(await fs.readFile(path.join(dir, marker), 'utf8')) as Record<string, unknown>;
      return { marker, body };
    },
    { timeoutMs: 40_000, what: `${dir} settled` },
  );
}

describe('ingestor: declared datasets and the catalog', () => {
  let h: Harness;
  let landing: string;
  let store: string;

  beforeAll(async () => {
    landing = path.join(scratchDir('catalog-landing'), 'landing');
    h = await startHarness(
      'catalog',
      {
        LANDING_DIR: landing,
        LANDING_SCAN_INTERVAL_MS: '300',
        // Not the version penguins declares as current: a landing batch shows which one it followed.
        LANDING_DEFAULT_CONTRACT_VERSION: '9.9.9',
      },
      { declare: [declaration('penguins', { landing: { folder: 'penguin-drops' } })] },
    );
    store = fileURLToPath(h.config.DATA_STORE_URI);
  });
  afterAll(async () => {
    await h?.close();
    await fs.rm(path.dirname(landing), { recursive: true, force: true });
  });

  it('when the catalog admin API is called, then it needs the admin token, and the contracts of CONTRACTS_DIR were published by the ingestor at start-up', async () => {
    const anonymous = await h.app.http.inject({ method: 'GET', url: '/admin/catalog/contracts' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json()).toMatchObject({ error: { code: 'ING_ERR_UNAUTHORIZED' } });

    const res = await h.app.http.inject({ method: 'GET', url: '/admin/catalog/contracts', headers: AUTH });
    expect(res.statusCode).toBe(200);
    const { contracts } = res.json<{ contracts: { name: string; publishedBy: string }[] }>();
    const repository = (await fs.readdir(fileURLToPath(defaultContractsDir))).sort();
    expect(new Set(contracts.map((c) => c.name))).toEqual(new Set(repository));
    for (const c of contracts) expect(c.publishedBy).toBe('bootstrap:ingestor');

    const declared = await h.app.http.inject({
      method: 'GET',
      url: '/admin/catalog/datasets/penguins',
      headers: AUTH,
    });
    expect(declared.json()).toMatchObject({
      name: 'penguins',
      spec: { landing: { folder: 'penguin-drops' } },
    });
  });

  it('when CONTRACTS_DIR holds an edited published version and a new one, then an ingestor sharing the catalog starts anyway, logs an error naming both sha256s, and publishes only the new version', async () => {
    const root = scratchDir('catalog-edited');
    const dir = path.join(root, 'contracts');
    await fs.cp(fileURLToPath(defaultContractsDir), dir, { recursive: true });
    const file = path.join(dir, 'penguins', '1.0.0.yaml');
    const original = parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
    const edited = { ...original, max_bad_row_ratio: 0.1 };
    await fs.writeFile(file, stringify(edited));
    await fs.writeFile(
      path.join(dir, 'penguins', '1.1.0.yaml'),
      stringify({ ...original, version: '1.1.0' }),
    );
    const published = (await h.app.runtime.catalogStore.contract('penguins', '1.0.0'))!.sha256;
    const editedHash = specHash(contractSchema.parse(edited));
    expect(editedHash).not.toBe(published);

    const logs = captureLogs();
    const config = loadServiceConfig(
      ingestorEnv(root, { CATALOG_SCHEMA: h.config.CATALOG_SCHEMA, CONTRACTS_DIR: dir }),
    );
    let other: ServiceApp | undefined;
    try {
      other = await buildApp(config, { logDestination: logs.stream });
      await other.start();
      expect((await other.http.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    } finally {
      await other?.stop();
      await h.query(`DROP SCHEMA IF EXISTS ${config.DATABASE_SCHEMA} CASCADE`);
      await fs.rm(root, { recursive: true, force: true });
    }
    const refusal = logs.lines.find((l) => l.level === 'error' && l.contract === 'penguins@1.0.0');
    expect(refusal?.msg).toContain(`contract penguins@1.0.0 is published with sha256 ${published}`);
    expect(refusal?.msg).toContain(`this file has sha256 ${editedHash}`);
    expect((await h.app.runtime.catalogStore.contract('penguins', '1.0.0'))!.sha256).toBe(published);
    expect(await h.app.runtime.catalogStore.contract('penguins', '1.1.0')).toMatchObject({
      publishedBy: 'bootstrap:ingestor',
    });
  });

  it('when batches are dropped in the landing zone, then a declared dataset’s landing folder feeds it under its current contract, a folder named after it is refused naming the right one, and an undeclared dataset’s batch is rejected naming it', async () => {
    const declared = await drop(landing, 'penguin-drops', 'lz-1', 20);
    const wrongFolder = await drop(landing, 'penguins', 'lz-2', 30);
    const undeclared = await drop(landing, 'walruses', 'lz-3', 40);

    const ingested = await h.ingested.waitFor((e) => e.batch_id === 'lz-1');
    expect(ingested).toMatchObject({ dataset: 'penguins', contract: { name: 'penguins', version: '1.0.0' } });
    expect(await listKeys(store, 'raw/penguins/lz-1/')).toHaveLength(2);
    expect(await fs.readdir(declared)).toContain('_PROCESSING'); // until the preprocessor decides

    expect(await settledMarker(wrongFolder)).toMatchObject({
      marker: '_REJECTED',
      body: {
        error_code: 'ING_ERR_LANDING_FOLDER',
        reason:
          'dataset penguins lands in folder penguin-drops/ (landing.folder of its declaration), not in penguins/',
      },
    });
    expect(await h.ready.count((e) => e.batch_id === 'lz-2')).toBe(0);

    const reason =
      'dataset walruses is not declared; apply datasets/walruses.yaml (tributary datasets apply)';
    expect(await settledMarker(undeclared)).toMatchObject({
      marker: '_REJECTED',
      body: { status: 'REJECTED', stage: 'INGEST', error_code: 'ING_ERR_UNDECLARED_DATASET', reason },
    });
    expect(await h.rejected.waitFor((e) => e.batch_id === 'lz-3')).toMatchObject({
      dataset: 'walruses',
      error_code: 'ING_ERR_UNDECLARED_DATASET',
      reason,
    });
    expect(await listKeys(store, 'raw/walruses/')).toEqual([]);
  });

  it('when a dataset holding batches is removed with force, then a batch sent right after is rejected as undeclared, without a restart', async () => {
    const refused = await h.app.http.inject({
      method: 'DELETE',
      url: '/admin/catalog/datasets/penguins',
      headers: AUTH,
    });
    expect(refused.statusCode).toBe(409);
    const removed = await h.app.http.inject({
      method: 'DELETE',
      url: '/admin/catalog/datasets/penguins?force=true&actor=ops',
      headers: AUTH,
    });
    expect(removed.statusCode).toBe(200);
    expect(removed.json()).toMatchObject({
      changes: [{ kind: 'dataset', name: 'penguins', action: 'deleted' }],
    });

    const sample = await writeSampleBatch(path.join(h.root, 'sources', 'after-removal'), {
      offset: 50,
      count: 2,
    });
    await h.publish(batchReadyFor(sample, { batchId: 'penguins-after-removal' }));
    expect(await h.rejected.waitFor((e) => e.batch_id === 'penguins-after-removal')).toMatchObject({
      error_code: 'ING_ERR_UNDECLARED_DATASET',
    });
  });
});

describe('ingestor: ACCEPT_UNDECLARED_DATASETS (migration)', () => {
  let h: Harness;
  let landing: string;

  beforeAll(async () => {
    landing = path.join(scratchDir('catalog-accept-landing'), 'landing');
    h = await startHarness(
      'catalog-accept',
      { ACCEPT_UNDECLARED_DATASETS: 'true', LANDING_DIR: landing, LANDING_SCAN_INTERVAL_MS: '300' },
      { declare: [], captureLogs: true },
    );
  });
  afterAll(async () => {
    await h?.close();
    await fs.rm(path.dirname(landing), { recursive: true, force: true });
  });

  it('when batches of undeclared datasets arrive, then they are ingested as before with a warning per batch, and an unpublished contract is still rejected', async () => {
    const sample = await writeSampleBatch(path.join(h.root, 'sources', 'w-1'), { offset: 10, count: 3 });
    await h.publish(batchReadyFor(sample, { batchId: 'walruses-1', dataset: 'walruses' }));
    expect(await h.ingested.waitFor((e) => e.batch_id === 'walruses-1')).toMatchObject({
      dataset: 'walruses',
    });
    const warnings = h
      .logs()
      .filter((l) => l.batch_id === 'walruses-1' && String(l.msg).includes('not declared'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 'warn', dataset: 'walruses' });
    expect(warnings[0]!.msg).toBe(
      'dataset walruses is not declared; taken in because ACCEPT_UNDECLARED_DATASETS is true (declare it: apply datasets/walruses.yaml)',
    );

    await h.publish(
      batchReadyFor(sample, {
        batchId: 'walruses-2',
        dataset: 'walruses',
        contract: { name: 'walruses', version: '1.0.0' },
      }),
    );
    expect(await h.rejected.waitFor((e) => e.batch_id === 'walruses-2')).toMatchObject({
      error_code: 'ING_ERR_UNKNOWN_CONTRACT',
      reason: 'unknown data contract walruses@1.0.0: it is not published in the catalog',
    });

    // The landing zone keeps working for undeclared folders, under LANDING_DEFAULT_CONTRACT_VERSION.
    await drop(landing, 'penguins', 'lz-accept', 60);
    expect(await h.ingested.waitFor((e) => e.batch_id === 'lz-accept')).toMatchObject({
      dataset: 'penguins',
      contract: { name: 'penguins', version: '1.0.0' },
    });
  });
});

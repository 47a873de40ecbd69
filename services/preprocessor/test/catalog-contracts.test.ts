/**
 * The ingestor and the preprocessor read their contracts from one catalog (a shared CATALOG_SCHEMA),
 * changed through the ingestor's admin API as `tributary datasets apply` does: a new version is
 * enforced by both at once, a published version never changes, and the ingestor acts only on
 * declared datasets and the contract versions they accept.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { specHash, type DatasetDeclarationInput } from '@tributary/catalog';
import { contractSchema, defaultContractsDir, type DataContractInput } from '@tributary/contracts';
import type { BatchRejected, MasterVersioned } from '@tributary/events';
import type { ServiceApp } from '@tributary/runtime';
import { writeSampleBatch, type EventReader } from '@tributary/testing';
import { buildApp as buildIngestor } from '../../ingestor/src/app.ts';
import { loadServiceConfig as loadIngestorConfig } from '../../ingestor/src/config.ts';
import { buildApp } from '../src/app.ts';
import { loadServiceConfig } from '../src/config.ts';
import { testEnvironment, type TestEnvironment } from './helpers.ts';

const AUTH = { authorization: 'Bearer test-admin-token-0123456789' };

let t: TestEnvironment;
let ingestor: ServiceApp;
let preprocessor: ServiceApp;
let sources: string;
let versions: EventReader<MasterVersioned>;
let rejections: EventReader<BatchRejected>;
let penguins100: DataContractInput;

/** penguins 1.1.0: 1.0.0 with a lighter body mass limit (at most `maxMass` grams). */
function penguins110(maxMass: number): DataContractInput {
  return {
    ...penguins100,
    version: '1.1.0',
    columns: penguins100.columns.map((c) => (c.name === 'body_mass_g' ? { ...c, max: maxMass } : c)),
  };
}

function penguinsDeclaration(versionsAccepted: string[], current: string): DatasetDeclarationInput {
  return {
    apiVersion: 'tributary/v1',
    kind: 'Dataset',
    name: 'penguins',
    owners: ['field-team'],
    contract: { name: 'penguins', versions: versionsAccepted, current },
  };
}

/** POST /admin/catalog/apply on the ingestor, as `tributary datasets apply` sends it. */
async function apply(body: {
  datasets?: DatasetDeclarationInput[];
  contracts?: { file: string; spec: unknown }[];
}) {
  const res = await ingestor.http.inject({
    method: 'POST',
    url: '/admin/catalog/apply',
    headers: AUTH,
    payload: {
      datasets: (body.datasets ?? []).map((spec) => ({ source: `datasets/${spec.name}.yaml`, spec })),
      contracts: (body.contracts ?? []).map((c) => ({ source: c.file, spec: c.spec })),
      actor: 'catalog-test',
    },
  });
  return {
    status: res.statusCode,
    body: res.json<{
      revision: number;
      changes: { kind: string; name: string; action: string }[];
      error?: { code: string; message: string; details?: { problems: string[] } };
    }>(),
  };
}

/** Uploads a sample batch of penguins to the ingestor (POST /batches), naming `contract`. */
async function submit(
  batchId: string,
  opts: { dataset?: string; contract: string; offset: number; count: number },
) {
  const sample = await writeSampleBatch(path.join(sources, batchId), {
    offset: opts.offset,
    count: opts.count,
  });
  const form = new FormData();
  form.append('dataset', opts.dataset ?? 'penguins');
  form.append('batch_id', batchId);
  form.append('contract', opts.contract);
  for (const f of sample.files) form.append('file', new Blob([await fs.readFile(f.absolutePath)]), f.path);
  const res = await ingestor.http.inject({ method: 'POST', url: '/batches', payload: form });
  expect(res.statusCode, res.body).toBe(202);
  return sample;
}

const versionOf = (batchId: string): Promise<MasterVersioned> =>
  versions.waitFor((v) => v.batch_ids.includes(batchId), 90_000);

const rejectionOf = (batchId: string, partial = false): Promise<BatchRejected> =>
  rejections.waitFor((r) => r.batch_id === batchId && r.partial === partial, 90_000);

beforeAll(async () => {
  penguins100 = parse(
    await fs.readFile(path.join(fileURLToPath(defaultContractsDir), 'penguins', '1.0.0.yaml'), 'utf8'),
  ) as DataContractInput;
  t = await testEnvironment({ KAFKA_TOPIC_PARTITIONS: '1' });
  sources = path.join(t.storeDir, 'sources');
  await fs.mkdir(sources, { recursive: true });
  // The ingestor of the same deployment: same topics, catalog and data store, its own schema.
  const ingestorConfig = loadIngestorConfig({
    ...t.env,
    SERVICE_NAME: 'ingestor',
    DATABASE_SCHEMA: `${t.schema}_ingestor`,
    DATA_STORE_URI: pathToFileURL(t.storeDir).href,
    SOURCE_FILE_ROOTS: sources,
    INGEST_WORK_DIR: path.join(t.storeDir, 'work'),
    CONSUMER_RETRY_BASE_MS: '50',
  });
  // Both migrate the shared catalog schema: migrate() waits for the other's lock.
  ingestor = await buildIngestor(ingestorConfig);
  preprocessor = await buildApp(loadServiceConfig(t.env));
  await ingestor.start();
  await preprocessor.start();
  versions = await t.readVersions();
  rejections = await t.readRejections();
  const declared = await apply({ datasets: [penguinsDeclaration(['1.0.0'], '1.0.0')] });
  expect(declared.status, JSON.stringify(declared.body)).toBe(200);
});

afterAll(async () => {
  await preprocessor?.stop();
  await ingestor?.stop();
  await t?.pool.query(`DROP SCHEMA IF EXISTS ${t.schema}_ingestor CASCADE`).catch(() => undefined);
  await t?.pool.query(`DROP SCHEMA IF EXISTS ${t.env.CATALOG_SCHEMA} CASCADE`).catch(() => undefined);
  await t?.dispose();
});

describe('contracts and datasets through the catalog (ingestor + preprocessor)', () => {
  it('when a new contract version is applied through the ingestor’s admin API, then both services enforce it at once, without a restart', async () => {
    // Before: the ingestor refuses the version, which the dataset does not accept yet.
    await submit('before-1-1-0', { contract: 'penguins@1.1.0', offset: 0, count: 10 });
    expect(await rejectionOf('before-1-1-0')).toMatchObject({
      stage: 'INGEST',
      error_code: 'ING_ERR_CONTRACT_NOT_ACCEPTED',
      reason:
        'dataset penguins does not accept contract penguins@1.1.0: its declaration accepts penguins@1.0.0',
    });

    const applied = await apply({
      contracts: [{ file: 'contracts/penguins/1.1.0.yaml', spec: penguins110(4000) }],
      datasets: [penguinsDeclaration(['1.0.0', '1.1.0'], '1.1.0')],
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect(applied.body.changes).toEqual([
      expect.objectContaining({ kind: 'contract', name: 'penguins@1.1.0', action: 'published' }),
      expect.objectContaining({ kind: 'dataset', name: 'penguins', action: 'updated' }),
    ]);

    // At once: the ingestor accepts the version, the preprocessor validates rows against it.
    const sample = await submit('with-1-1-0', { contract: 'penguins@1.1.0', offset: 0, count: 10 });
    const heavy = sample.rows.filter((r) => r.body_mass_g !== null && r.body_mass_g > 4000).map((r) => r.id);
    expect(heavy).toEqual(['P0008', 'P0010']); // 4675 g and 4250 g: fine under 1.0.0 (≤ 10000 g)
    const version = await versionOf('with-1-1-0');
    expect(version).toMatchObject({
      contract: { name: 'penguins', version: '1.1.0' },
      rows_added: 8,
      rows_rejected: 2,
    });
    const report = (await fs.readFile(fileURLToPath(version.rejection_report_uri!), 'utf8'))
      .trim()
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { primary_key: { id: string }; reasons: { column: string; rule: string }[] },
      );
    expect(report.map((r) => r.primary_key.id)).toEqual(heavy);
    for (const r of report)
      expect(r.reasons).toEqual([expect.objectContaining({ column: 'body_mass_g', rule: 'max' })]);
    expect((await rejectionOf('with-1-1-0', true)).error_code).toBe('PRE_ERR_ROWS_QUARANTINED');
  });

  it('when the same content is applied again, then nothing changes; when a published version is edited, then the apply is refused with 409 naming both sha256s and both services keep enforcing the published content', async () => {
    const again = await apply({
      contracts: [{ file: 'contracts/penguins/1.1.0.yaml', spec: penguins110(4000) }],
      datasets: [penguinsDeclaration(['1.0.0', '1.1.0'], '1.1.0')],
    });
    expect(again.status).toBe(200);
    expect(again.body.changes.map((c) => c.action)).toEqual(['unchanged', 'unchanged']);

    const published = specHash(contractSchema.parse(penguins110(4000)));
    const editedHash = specHash(contractSchema.parse(penguins110(3500)));
    const edited = await apply({
      contracts: [{ file: 'contracts/penguins/1.1.0.yaml', spec: penguins110(3500) }],
      datasets: [penguinsDeclaration(['1.1.0'], '1.1.0')],
    });
    expect(edited.status).toBe(409);
    expect(edited.body.error).toMatchObject({ code: 'CATALOG_ERR_CONFLICT' });
    expect(edited.body.error!.message).toContain(
      `contract penguins@1.1.0 is published with sha256 ${published} and cannot change (this file has sha256 ${editedHash})`,
    );
    // Neither the no-op nor the refused apply recorded a change.
    const history = await ingestor.http.inject({
      method: 'GET',
      url: '/admin/catalog/history?limit=1',
      headers: AUTH,
    });
    expect(history.json<{ changes: { revision: number }[] }>().changes[0]!.revision).toBe(
      again.body.revision,
    );

    // P0021-P0030 weigh 3150-3950 g: all good under the published 1.1.0, seven too heavy under the edit.
    const sample = await submit('after-edit', { contract: 'penguins@1.1.0', offset: 20, count: 10 });
    expect(sample.rows.filter((r) => r.body_mass_g! > 3500)).toHaveLength(7);
    expect(await versionOf('after-edit')).toMatchObject({
      contract: { name: 'penguins', version: '1.1.0' },
      rows_rejected: 0,
    });
    // The refused apply changed no declaration either: 1.0.0 is still accepted.
    await submit('still-1-0-0', { contract: 'penguins@1.0.0', offset: 30, count: 5 });
    expect(await versionOf('still-1-0-0')).toMatchObject({
      contract: { name: 'penguins', version: '1.0.0' },
    });
  });

  it('when a batch names an undeclared dataset or a contract version its dataset does not accept, then the ingestor rejects it naming the problem', async () => {
    await submit('walruses-1', { dataset: 'walruses', contract: 'penguins@1.0.0', offset: 40, count: 3 });
    expect(await rejectionOf('walruses-1')).toMatchObject({
      stage: 'INGEST',
      dataset: 'walruses',
      error_code: 'ING_ERR_UNDECLARED_DATASET',
      reason: 'dataset walruses is not declared; apply datasets/walruses.yaml (tributary datasets apply)',
    });

    await submit('penguins-2-0-0', { contract: 'penguins@2.0.0', offset: 43, count: 3 });
    expect(await rejectionOf('penguins-2-0-0')).toMatchObject({
      stage: 'INGEST',
      error_code: 'ING_ERR_CONTRACT_NOT_ACCEPTED',
      reason:
        'dataset penguins does not accept contract penguins@2.0.0: its declaration accepts penguins@1.0.0, penguins@1.1.0',
    });
    const raw = await fs.readdir(path.join(t.storeDir, 'raw')).catch(() => []);
    expect(raw).not.toContain('walruses');
  });

  it('when a dataset with batches is deleted without force, then the catalog refuses and keeps its declaration', async () => {
    const refused = await ingestor.http.inject({
      method: 'DELETE',
      url: '/admin/catalog/datasets/penguins',
      headers: AUTH,
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({
      error: {
        code: 'CATALOG_ERR_CONFLICT',
        details: {
          problems: [
            'dataset penguins holds data (batches or master versions): removing its declaration needs force (its data is kept)',
          ],
        },
      },
    });
    const kept = await ingestor.http.inject({
      method: 'GET',
      url: '/admin/catalog/datasets/penguins',
      headers: AUTH,
    });
    expect(kept.statusCode).toBe(200);
    expect(kept.json()).toMatchObject({ spec: { contract: { versions: ['1.0.0', '1.1.0'] } } });
  });
});

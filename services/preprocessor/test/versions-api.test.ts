import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceApp } from '@tributary/runtime';
import { buildApp } from '../src/app.ts';
import { loadServiceConfig } from '../src/config.ts';
import { testEnvironment, type TestEnvironment } from './helpers.ts';

const TOKEN = 'versions-api-admin-token';
let t: TestEnvironment;
let app: ServiceApp;

/** A committed version row, as a merge writes it. */
async function insertVersion(dataset: string, version: number, batchIds: string[]): Promise<void> {
  await t.pool.query(
    `INSERT INTO master_versions (dataset, version, previous_version, checksum, row_count, rows_added, rows_updated,
       rows_rejected, parts_written, batch_ids, raw_checksums, contract_name, contract_version, location, dvc_file,
       merge_started_at, run_id)
     VALUES ($1, $2, $3, $4, $5, 5, 0, 1, 1, $6, $7, 'penguins', '1.0.0', $8, $9, now(), $10)`,
    [
      dataset,
      version,
      version > 1 ? version - 1 : null,
      `md5-${version}.dir`,
      version * 5,
      batchIds,
      JSON.stringify(Object.fromEntries(batchIds.map((b) => [b, `raw-${b}`]))),
      `file:///store/master/${dataset}`,
      `master/${dataset}.dvc`,
      `run-${dataset}-${version}`,
    ],
  );
}

beforeAll(async () => {
  t = await testEnvironment();
  // The other services are not running: their links must come back unavailable, not fail the query.
  const nowhere = 'http://127.0.0.1:9';
  app = await buildApp(
    loadServiceConfig({
      ...t.env,
      ADMIN_TOKEN: TOKEN,
      LINEAGE_INGESTOR_URL: nowhere,
      LINEAGE_QUALITY_GATE_URL: nowhere,
      LINEAGE_PUBLISHER_URL: nowhere,
      LINEAGE_RETRAIN_POLICY_URL: nowhere,
    }),
  );
  await app.start();
  await insertVersion('penguins', 1, ['b-1']);
  await insertVersion('penguins', 2, ['b-2', 'b-3']);
  await insertVersion('other', 1, ['b-2']);
});

afterAll(async () => {
  await app?.stop();
  await t?.dispose();
});

describe('master versions API', () => {
  it('when a committed version is asked for, then it answers its checksum, location, DVC file and batches', async () => {
    const res = await app.http.inject({ method: 'GET', url: '/masters/penguins/versions/2' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      dataset: 'penguins',
      version: 2,
      previous_version: 1,
      checksum: 'md5-2.dir',
      row_count: 10,
      batch_ids: ['b-2', 'b-3'],
      raw_checksums: { 'b-2': 'raw-b-2', 'b-3': 'raw-b-3' },
      contract: { name: 'penguins', version: '1.0.0' },
      location: 'file:///store/master/penguins',
      dvc_file: 'master/penguins.dvc',
    });
  });

  it('when a version does not exist or is not a number, then it answers 404 or 400', async () => {
    expect((await app.http.inject({ method: 'GET', url: '/masters/penguins/versions/9' })).statusCode).toBe(
      404,
    );
    expect((await app.http.inject({ method: 'GET', url: '/masters/penguins/versions/x' })).statusCode).toBe(
      400,
    );
  });

  it('when versions are listed by batch id, then only the dataset versions holding that batch come back', async () => {
    const res = await app.http.inject({ method: 'GET', url: '/masters/penguins/versions?batch_id=b-3' });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ versions: { version: number }[] }>();
    expect(body.versions.map((v) => v.version)).toEqual([2]);
    const all = await app.http.inject({ method: 'GET', url: '/masters/penguins/versions' });
    expect(all.json<{ versions: { version: number }[] }>().versions.map((v) => v.version)).toEqual([2, 1]);
    const none = await app.http.inject({ method: 'GET', url: '/masters/penguins/versions?batch_id=unknown' });
    expect(none.json()).toEqual({ versions: [] });
  });
});

interface LineageBody {
  dataset: string | null;
  traceIds: string[];
  links: { kind: string; state: string; id: string | null; runId: string | null; note?: string }[];
}

describe('lineage API', () => {
  const lineage = (query: string, token: string | null = TOKEN) =>
    app.http.inject({
      method: 'GET',
      url: `/admin/lineage?${query}`,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });

  it('when asked by master version, then the master link carries its run id and unreachable services are unavailable', async () => {
    const res = await lineage('dataset=penguins&master_version=2');
    expect(res.statusCode).toBe(200);
    const body = res.json<LineageBody>();
    const byKind = new Map(body.links.map((l) => [l.kind, l]));
    expect(byKind.get('master version')).toMatchObject({
      state: 'found',
      id: 'penguins@2',
      runId: 'run-penguins-2',
    });
    expect(body.traceIds).toEqual(['run-penguins-2']);
    // Both batches of v2 are asked of the ingestor, which is down.
    expect(body.links.filter((l) => l.kind === 'batch').map((l) => [l.id, l.state])).toEqual([
      ['b-2', 'unavailable'],
      ['b-3', 'unavailable'],
    ]);
    for (const kind of ['quality report', 'published manifest', 'retrain request'])
      expect(byKind.get(kind)?.state, kind).toBe('unavailable');
  });

  it('when the query names nothing known, then it answers 404 with the partial chain', async () => {
    const res = await lineage('dataset=penguins&master_version=9');
    expect(res.statusCode).toBe(404);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('PRE_ERR_LINEAGE_NOT_FOUND');
  });

  it('when the query is malformed, then it answers 400 naming the problem', async () => {
    const both = await lineage('batch_id=b-1&master_version=1&dataset=penguins');
    expect(both.statusCode).toBe(400);
    expect(both.json<{ error: { message: string } }>().error.message).toContain('exactly one of');
    const noDataset = await lineage('master_version=1');
    expect(noDataset.statusCode).toBe(400);
    expect(noDataset.json<{ error: { message: string } }>().error.message).toContain(
      'master_version needs dataset',
    );
    const notNumber = await lineage('dataset=penguins&master_version=two');
    expect(notNumber.json<{ error: { message: string } }>().error.message).toContain('whole number');
  });

  it('when a path or query parameter is malformed, then it answers 400 PRE_ERR_BAD_REQUEST naming the parameter', async () => {
    const version = await app.http.inject({ method: 'GET', url: '/masters/penguins/versions/two' });
    expect(version.statusCode).toBe(400);
    const { error } = version.json<{ error: { code: string; message: string; details: unknown } }>();
    expect(error.code).toBe('PRE_ERR_BAD_REQUEST');
    expect(error.message).toBe('params.version: expected a whole number');
    expect(error.details).toMatchObject({ issues: [{ in: 'params', field: 'version' }] });
    const limit = await app.http.inject({ method: 'GET', url: '/masters/penguins/versions?limit=0' });
    expect(limit.statusCode).toBe(400);
    expect(limit.json<{ error: { message: string } }>().error.message).toMatch(/^querystring\.limit: /);
  });

  it('when the OpenAPI document is read, then it is the one generated into docs/api', async () => {
    const served = await app.http.inject({ method: 'GET', url: '/openapi.json' });
    const generated = await readFile(
      new URL('../../../docs/api/preprocessor.openapi.json', import.meta.url),
      'utf8',
    );
    expect(served.json()).toEqual(JSON.parse(generated));
  });

  it('when the bearer token is missing or wrong, then it answers 401', async () => {
    expect((await lineage('dataset=penguins&master_version=1', null)).statusCode).toBe(401);
    expect((await lineage('dataset=penguins&master_version=1', 'wrong-token-0123456789')).statusCode).toBe(
      401,
    );
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceApp } from '@tributary/runtime';
import { buildApp } from '../src/app.ts';
import { loadServiceConfig } from '../src/config.ts';
import { testEnvironment, type TestEnvironment } from './helpers.ts';

let t: TestEnvironment;
let app: ServiceApp;

/** A committed version row, as a merge writes it. */
async function insertVersion(dataset: string, version: number, batchIds: string[]): Promise<void> {
  await t.pool.query(
    `INSERT INTO master_versions (dataset, version, previous_version, checksum, row_count, rows_added, rows_updated,
       rows_rejected, parts_written, batch_ids, raw_checksums, contract_name, contract_version, location, dvc_file,
       merge_started_at)
     VALUES ($1, $2, $3, $4, $5, 5, 0, 1, 1, $6, $7, 'penguins', '1.0.0', $8, $9, now())`,
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
    ],
  );
}

beforeAll(async () => {
  t = await testEnvironment();
  app = await buildApp(loadServiceConfig(t.env));
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

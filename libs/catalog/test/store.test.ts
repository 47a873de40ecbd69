/**
 * The catalog against the real Postgres: apply is all or nothing, idempotent, audited; published
 * contracts never change; removal of a dataset holding data needs force; a running reader sees a
 * change within its refresh interval.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createPool, migrate, type Pool } from '@tributary/db';
import { isAppError } from '@tributary/errors';
import { createLogger } from '@tributary/telemetry';
import { stackEnv, uniqueName, waitFor } from '@tributary/testing';
import {
  Catalog,
  CatalogStore,
  catalogMigrations,
  declarationJsonSchema,
  specHash,
  type DatasetDeclarationInput,
  type SourcedResource,
} from '../src/index.ts';

const penguins = parse(
  readFileSync(new URL('../../../contracts/penguins/1.0.0.yaml', import.meta.url), 'utf8'),
) as Record<string, unknown>;
const contract = (version: string, edit: (c: Record<string, unknown>) => void = () => undefined) => {
  const spec = structuredClone({ ...penguins, version });
  edit(spec);
  return { source: `contracts/penguins/${version}.yaml`, spec };
};

function declaration(name: string, extra: Partial<DatasetDeclarationInput> = {}): SourcedResource {
  const spec: DatasetDeclarationInput = {
    apiVersion: 'tributary/v1',
    kind: 'Dataset',
    name,
    owners: ['field-team'],
    contract: { name: 'penguins', versions: ['1.0.0'], current: '1.0.0' },
    refresh_jobs: [{ name: `${name}-eval`, gate: { max_psi: 0.2 } }],
    ...extra,
  };
  return { source: `datasets/${name}.yaml`, spec };
}

let schema: string;
let pool: Pool;
let store: CatalogStore;
const withData = new Set<string>();

beforeAll(async () => {
  schema = uniqueName('t_catalog');
  await migrate({ url: stackEnv.DATABASE_URL, schema, dirs: [catalogMigrations] });
  pool = createPool({ url: stackEnv.DATABASE_URL, schema, max: 3 });
  store = new CatalogStore({ pool, schema, hasData: (name) => Promise.resolve(withData.has(name)) });
});

afterAll(async () => {
  await pool?.end();
});

async function refusal(promise: Promise<unknown>): Promise<{ code: string; problems: string[] }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isAppError(err)) throw new Error(`expected a refusal, got ${String(err)}`);
  return { code: err.code, problems: err.details.problems as string[] };
}

describe('catalog store', () => {
  it('when a folder is applied twice, then the second apply changes nothing and the revision stays', async () => {
    const first = await store.apply({
      datasets: [declaration('alpha'), declaration('beta')],
      contracts: [contract('1.0.0')],
      actor: 'ci',
    });
    expect(first.changes.map((c) => `${c.kind}/${c.name} ${c.action}`).sort()).toEqual([
      'contract/penguins@1.0.0 published',
      'dataset/alpha created',
      'dataset/beta created',
    ]);
    const again = await store.apply({
      datasets: [declaration('alpha'), declaration('beta')],
      contracts: [contract('1.0.0')],
      actor: 'ci',
    });
    expect(again.changes.every((c) => c.action === 'unchanged')).toBe(true);
    expect(again.revision).toBe(first.revision);
    const [alpha] = await store.datasets('alpha');
    // Stored with its defaults filled in.
    expect(alpha!.spec.refresh_jobs[0]!.gate).toMatchObject({ max_psi: 0.2, min_coverage: 1 });
    expect(alpha!.generation).toBe(1);
  });

  it('when one file of a folder is invalid, then nothing is applied and the problem names the file and field', async () => {
    const before = await store.revision();
    const bad = declaration('gamma', { refresh_jobs: [{ name: 'gamma-eval', gate: { max_ks: 3 } }] });
    const { code, problems } = await refusal(
      store.apply({ datasets: [declaration('delta'), bad], contracts: [], actor: 'ci' }),
    );
    expect(code).toBe('CATALOG_ERR_INVALID');
    expect(problems.join('\n')).toContain('datasets/gamma.yaml: refresh_jobs.0.gate.max_ks');
    expect(await store.datasets('delta')).toEqual([]);
    expect(await store.revision()).toBe(before);
  });

  it('when a refresh job has a schedule that is not a cron, then it is refused naming the field', async () => {
    const { problems } = await refusal(
      store.apply({
        datasets: [declaration('theta', { refresh_jobs: [{ name: 'theta-eval', schedule: 'every night' }] })],
        contracts: [],
        actor: 'ci',
      }),
    );
    expect(problems.join('\n')).toContain(
      'datasets/theta.yaml: refresh_jobs.0.schedule: expected a cron expression',
    );
  });

  it('when a declaration names a contract version that is not published, then it is refused naming it', async () => {
    const { problems } = await refusal(
      store.apply({
        datasets: [
          declaration('epsilon', {
            contract: { name: 'penguins', versions: ['1.0.0', '9.9.9'], current: '1.0.0' },
          }),
        ],
        contracts: [],
        actor: 'ci',
      }),
    );
    expect(problems.join('\n')).toMatch(
      /datasets\/epsilon.yaml: contract.versions.1: contract penguins@9.9.9 is not published/,
    );
  });

  it('when a published contract version is applied with other content, then it is refused naming both hashes; a new version applies', async () => {
    const edited = contract('1.0.0', (c) => {
      (c.columns as { name: string; enum?: string[] }[])[1]!.enum = ['Adelie'];
    });
    const { code, problems } = await refusal(store.apply({ datasets: [], contracts: [edited], actor: 'ci' }));
    expect(code).toBe('CATALOG_ERR_CONFLICT');
    const hashes = problems[0]!.match(/[0-9a-f]{64}/g) ?? [];
    expect(new Set(hashes).size).toBe(2);
    expect((await store.contract('penguins', '1.0.0'))!.body.columns[1]!.enum).toHaveLength(3);

    const next = contract('1.1.0', (c) => {
      (c.columns as { name: string; enum?: string[] }[])[1]!.enum = ['Adelie'];
    });
    const applied = await store.apply({ datasets: [], contracts: [next], actor: 'ci' });
    expect(applied.changes).toEqual([
      expect.objectContaining({ name: 'penguins@1.1.0', action: 'published' }),
    ]);
  });

  it('when a contract was published by a release whose schema lacked a defaulted field, then the same file applies unchanged', async () => {
    const file = contract('2.0.0');
    await store.apply({ datasets: [], contracts: [file], actor: 'ci' });
    // What an older release stored: no allow_control_chars on any column, hashed without it.
    const { rows } = await pool.query<{ body: { columns: Record<string, unknown>[] } }>(
      `SELECT body FROM "${schema}".contracts WHERE name = 'penguins' AND version = '2.0.0'`,
    );
    const older = rows[0]!.body;
    for (const column of older.columns) delete column.allow_control_chars;
    await pool.query(
      `UPDATE "${schema}".contracts SET body = $1, sha256 = $2 WHERE name = 'penguins' AND version = '2.0.0'`,
      [older, specHash(older)],
    );

    const again = await store.apply({ datasets: [], contracts: [file], actor: 'ci' });
    expect(again.changes).toEqual([expect.objectContaining({ name: 'penguins@2.0.0', action: 'unchanged' })]);
  });

  it('when a threshold changes, then the audit has the actor and a diff naming the field', async () => {
    const edited = declaration('alpha', { refresh_jobs: [{ name: 'alpha-eval', gate: { max_psi: 0.35 } }] });
    const result = await store.apply({
      datasets: [edited],
      contracts: [],
      actor: 'alice',
      tokenName: 'admin',
    });
    expect(result.changes).toEqual([
      {
        kind: 'dataset',
        name: 'alpha',
        action: 'updated',
        diff: [{ path: 'refresh_jobs.0.gate.max_psi', from: 0.2, to: 0.35 }],
      },
    ]);
    const [latest] = await store.history({ name: 'alpha', limit: 1 });
    expect(latest).toMatchObject({ actor: 'alice', tokenName: 'admin', action: 'updated', generation: 2 });
    expect(latest!.diff).toEqual([{ path: 'refresh_jobs.0.gate.max_psi', from: 0.2, to: 0.35 }]);
  });

  it('when two datasets declare the same evaluation set, then the apply is refused', async () => {
    const { problems } = await refusal(
      store.apply({
        datasets: [declaration('zeta', { refresh_jobs: [{ name: 'alpha-eval' }] })],
        contracts: [],
        actor: 'ci',
      }),
    );
    expect(problems.join('\n')).toContain(
      'evaluation set "alpha-eval" is already a refresh job of dataset alpha',
    );
  });

  it('when two datasets would share a landing folder, then the apply is refused naming both', async () => {
    const { problems } = await refusal(
      store.apply({
        datasets: [declaration('eta', { landing: { folder: 'alpha' }, refresh_jobs: [] })],
        contracts: [],
        actor: 'ci',
      }),
    );
    expect(problems.join('\n')).toMatch(/landing folder of dataset (alpha|eta)/);
  });

  it('when a pruned dataset holds data, then removal needs force and the forced removal is audited', async () => {
    withData.add('beta');
    const { code, problems } = await refusal(
      store.apply({
        datasets: [declaration('alpha', { refresh_jobs: [{ name: 'alpha-eval', gate: { max_psi: 0.35 } }] })],
        contracts: [],
        prune: true,
        actor: 'ci',
      }),
    );
    expect(code).toBe('CATALOG_ERR_CONFLICT');
    expect(problems.join('\n')).toContain('dataset beta holds data');
    expect(await store.datasets('beta')).toHaveLength(1);

    const removed = await store.remove('beta', { force: true, actor: 'bob' });
    expect(removed.changes).toEqual([expect.objectContaining({ name: 'beta', action: 'deleted' })]);
    expect(await store.datasets('beta')).toEqual([]);
    expect((await store.history({ name: 'beta', limit: 1 }))[0]).toMatchObject({
      actor: 'bob',
      action: 'deleted',
    });
  });

  it('when the catalog changes, then a running reader sees it within its refresh interval', async () => {
    const catalog = new Catalog({
      store,
      logger: createLogger({ serviceName: 'catalog-test', level: 'silent' }),
      refreshMs: 200,
    });
    await catalog.start();
    try {
      expect((await catalog.refreshJob('alpha-eval'))?.job.gate.max_psi).toBe(0.35);
      await store.apply({
        datasets: [declaration('alpha', { refresh_jobs: [{ name: 'alpha-eval', gate: { max_psi: 0.5 } }] })],
        contracts: [],
        actor: 'ci',
      });
      await waitFor(
        () =>
          catalog.refreshJobs().find((j) => j.job.name === 'alpha-eval')?.job.gate.max_psi === 0.5
            ? true
            : undefined,
        {
          what: 'the new threshold in the reader',
          timeoutMs: 5000,
        },
      );
      await expect(catalog.contract('penguins', '7.7.7')).rejects.toMatchObject({
        code: 'CONTRACT_ERR_UNKNOWN',
      });
      expect((await catalog.contract('penguins', '1.1.0')).columns[1]!.enum).toEqual(['Adelie']);
    } finally {
      catalog.stop();
    }
  });

  it('the published JSON Schema describes every top-level field of a declaration', () => {
    const json = declarationJsonSchema() as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(json.properties)).toEqual(
      expect.arrayContaining([
        'contract',
        'retrain_policies',
        'refresh_jobs',
        'notifications',
        'owners',
        'landing',
        'retention_days',
      ]),
    );
    expect(json.required).toEqual(
      expect.arrayContaining(['apiVersion', 'kind', 'name', 'owners', 'contract']),
    );
  });
});

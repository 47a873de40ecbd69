import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RetrainRequested } from '@tributary/events';
import { MlflowRest, serviceEnv, stackEnv, uniqueName, waitFor } from '@tributary/testing';
import { startTrainingConsumer } from '../examples/training-consumer.ts';
import { buildApp } from '../src/app.ts';
import { loadServiceConfig } from '../src/config.ts';
import type { StoredDecision } from '../src/domain/ports.ts';
import type { ThresholdChange, ThresholdSetting } from '../src/domain/retrain-threshold.ts';
import {
  ADMIN_TOKEN,
  AUTH,
  masterEvent,
  mlflowNames,
  seedProductionModel,
  startService,
  type RunningService,
} from './harness.ts';

const mlflow = new MlflowRest();
const names = mlflowNames();
let service: RunningService;
/** What the documented training consumer example received. */
const trained: RetrainRequested[] = [];
let stopTraining: (() => Promise<void>) | undefined;

beforeAll(async () => {
  await seedProductionModel(mlflow, names, { masterRows: 200 });
  service = await startService({ MLFLOW_MODEL_NAME: names.model, RETRAIN_THRESHOLD_ROWS: '1000' });
  stopTraining = await startTrainingConsumer({
    brokers: stackEnv.KAFKA_BROKERS.split(','),
    registryUrl: stackEnv.SCHEMA_REGISTRY_URL,
    groupId: uniqueName('training'),
    topic: `${service.prefix}retrain.requested`,
    fromBeginning: true,
    train: (request) => {
      trained.push(request);
      return Promise.resolve();
    },
  });
});

afterAll(async () => {
  await stopTraining?.();
  await service?.stop();
});

describe('admin API', () => {
  it('when a request has no admin token or a wrong one, then every admin route answers 401', async () => {
    const routes = [
      ['GET', '/admin/settings/retrain-threshold'],
      ['PUT', '/admin/settings/retrain-threshold'],
      ['GET', '/admin/settings/retrain-threshold/audit'],
      ['GET', '/admin/decisions'],
      ['GET', '/admin/decisions/1'],
    ] as const;
    for (const [method, url] of routes) {
      for (const headers of [{}, { authorization: 'Bearer not-the-token' }, { authorization: ADMIN_TOKEN }]) {
        const res = await service.app.http.inject({ method, url, headers, payload: { value: 1 } });
        expect(res.statusCode, `${method} ${url} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.json()).toMatchObject({ error: { code: 'RTP_ERR_UNAUTHORIZED' } });
      }
    }
    const threshold = await service.app.http.inject({
      method: 'GET',
      url: '/admin/settings/retrain-threshold',
    });
    expect(threshold.headers['www-authenticate']).toBe('Bearer');
  });

  it('when the threshold is changed through the admin API, then the next event uses it without a restart and the change is audited', async () => {
    await service.publish(masterEvent(names.dataset, 1, 345));
    expect(await service.decisionFor(names.dataset, 1)).toMatchObject({
      outcome: 'below_threshold',
      thresholdRows: 1000,
      newRows: 145,
    });

    const put = await service.app.http.inject({
      method: 'PUT',
      url: '/admin/settings/retrain-threshold',
      headers: { ...AUTH, 'x-tributary-actor': 'alice' },
      payload: { value: 100 },
    });
    expect(put.statusCode).toBe(200);
    expect(put.json<ThresholdChange>()).toMatchObject({
      oldValue: 1000,
      newValue: 100,
      actor: 'alice',
      tokenName: 'admin',
    });

    await service.publish(masterEvent(names.dataset, 2, 346));
    await service.retrains.waitForMessages(1, 30_000);
    const [event] = await service.decodedRetrains();
    expect(event).toMatchObject({ master_version: 2, threshold_rows: 100, new_rows: 146 });
    // The consumer example of docs/retrain-requested.md decodes the same request.
    await waitFor(() => (trained.length > 0 ? true : undefined));
    expect(trained).toEqual([event]);
    expect(await service.decisionFor(names.dataset, 2)).toMatchObject({
      outcome: 'threshold_reached',
      thresholdRows: 100,
    });

    const current = await service.app.http.inject({
      method: 'GET',
      url: '/admin/settings/retrain-threshold',
      headers: AUTH,
    });
    expect(current.json<ThresholdSetting>()).toMatchObject({
      name: 'RETRAIN_THRESHOLD_ROWS',
      value: 100,
      updatedBy: 'alice',
    });
    const audit = await service.app.http.inject({
      method: 'GET',
      url: '/admin/settings/retrain-threshold/audit',
      headers: AUTH,
    });
    const { changes } = audit.json<{ changes: ThresholdChange[] }>();
    expect(changes.map((c) => [c.oldValue, c.newValue, c.actor, c.tokenName])).toEqual([
      [1000, 100, 'alice', 'admin'],
      [null, 1000, 'config (first start)', null],
    ]);
    expect(Date.parse(changes[0]!.changedAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('when the threshold value is not a whole number >= 0, then the change is refused with 400 and not audited', async () => {
    const before = await service.app.http.inject({
      method: 'GET',
      url: '/admin/settings/retrain-threshold/audit',
      headers: AUTH,
    });
    for (const value of [-1, 1.5, 'many', null]) {
      const res = await service.app.http.inject({
        method: 'PUT',
        url: '/admin/settings/retrain-threshold',
        headers: AUTH,
        payload: { value },
      });
      expect(res.statusCode, JSON.stringify(value)).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'RTP_ERR_INVALID_THRESHOLD' } });
    }
    const after = await service.app.http.inject({
      method: 'GET',
      url: '/admin/settings/retrain-threshold/audit',
      headers: AUTH,
    });
    expect(after.json()).toEqual(before.json());
  });

  it('when decisions are queried by dataset and master version, then only the matching ones come back, newest first', async () => {
    const all = await service.decisions(`?dataset=${names.dataset}`);
    expect(all.map((d) => d.masterVersion)).toEqual([2, 1]);
    const one = await service.decisions(`?dataset=${names.dataset}&master_version=1`);
    expect(one).toHaveLength(1);
    const byId = await service.app.http.inject({
      method: 'GET',
      url: `/admin/decisions/${one[0]!.id}`,
      headers: AUTH,
    });
    expect(byId.json<StoredDecision>()).toEqual(one[0]);
    expect(
      (await service.app.http.inject({ method: 'GET', url: '/admin/decisions/999999', headers: AUTH }))
        .statusCode,
    ).toBe(404);
    expect(await service.decisions('?dataset=nobody')).toEqual([]);
    const bad = await service.app.http.inject({
      method: 'GET',
      url: '/admin/decisions?master_version=x',
      headers: AUTH,
    });
    expect(bad.statusCode).toBe(400);
  });

  it('when a query parameter is malformed, then it answers 400 RTP_ERR_BAD_REQUEST naming each one', async () => {
    const res = await service.app.http.inject({
      method: 'GET',
      url: '/admin/decisions?master_version=x&limit=501',
      headers: AUTH,
    });
    expect(res.statusCode).toBe(400);
    const { error } = res.json<{
      error: { code: string; message: string; details: { issues: unknown[] } };
    }>();
    expect(error.code).toBe('RTP_ERR_BAD_REQUEST');
    expect(error.message).toContain('querystring.master_version: ');
    expect(error.message).toContain('querystring.limit: ');
    expect(error.details.issues).toEqual([
      expect.objectContaining({ in: 'querystring', field: 'master_version' }),
      expect.objectContaining({ in: 'querystring', field: 'limit' }),
    ]);
  });

  it('when the OpenAPI document is read, then it is the one generated into docs/api', async () => {
    const served = await service.app.http.inject({ method: 'GET', url: '/openapi.json' });
    const generated = await readFile(
      new URL('../../../docs/api/retrain-policy.openapi.json', import.meta.url),
      'utf8',
    );
    expect(served.json()).toEqual(JSON.parse(generated));
  });

  it('when the service restarts with another RETRAIN_THRESHOLD_ROWS, then the stored threshold stays', async () => {
    const again = await buildApp(loadServiceConfig({ ...service.env, RETRAIN_THRESHOLD_ROWS: '5' }));
    try {
      const res = await again.http.inject({
        method: 'GET',
        url: '/admin/settings/retrain-threshold',
        headers: AUTH,
      });
      expect(res.json<ThresholdSetting>().value).toBe(100);
    } finally {
      await again.stop();
    }
  });
});

describe('tributary retrain (CLI)', () => {
  const cli = fileURLToPath(new URL('../../../cli/bin/tributary.js', import.meta.url));
  let url: string;

  beforeAll(async () => {
    url = await service.app.http.listen({ host: '127.0.0.1', port: 0 });
  });

  async function tributary(...args: string[]) {
    const { stdout } = await promisify(execFile)(process.execPath, [cli, ...args], {
      env: serviceEnv({ TRIBUTARY_RETRAIN_POLICY_URL: url, TRIBUTARY_ADMIN_TOKEN: ADMIN_TOKEN }),
      timeout: 30_000,
    });
    return JSON.parse(stdout) as unknown;
  }

  it('when an operator sets and reads the threshold and lists decisions, then the CLI goes through the admin API', async () => {
    expect(await tributary('retrain', 'threshold', 'set', '250', '--actor', 'bob')).toMatchObject({
      oldValue: 100,
      newValue: 250,
      actor: 'bob',
    });
    expect(await tributary('retrain', 'threshold', 'get')).toMatchObject({ value: 250, updatedBy: 'bob' });
    const history = (await tributary('retrain', 'threshold', 'history', '--limit', '1')) as {
      changes: unknown[];
    };
    expect(history.changes).toEqual([expect.objectContaining({ newValue: 250, actor: 'bob' })]);
    const decisions = (await tributary(
      'retrain',
      'decisions',
      '--dataset',
      names.dataset,
      '--master-version',
      '2',
    )) as { decisions: StoredDecision[] };
    expect(decisions.decisions.map((d) => [d.masterVersion, d.outcome])).toEqual([[2, 'threshold_reached']]);
  });

  it('when the CLI has a wrong token, then it fails with the 401', async () => {
    const failed = await promisify(execFile)(
      process.execPath,
      [cli, 'retrain', 'threshold', 'get', '--url', url, '--token', 'wrong'],
      { env: serviceEnv(), timeout: 30_000 },
    ).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain('answered 401');
  });
});

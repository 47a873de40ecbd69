/**
 * The retrain-policy acts on declared datasets only: each model of a dataset's retrain_policies is
 * decided once per master version with its own production alias, experiments, tags and threshold;
 * a dataset with no declaration (and no env policy) or no retrain policy requests nothing and says
 * so. Declarations are applied to the service's own catalog schema, as `tributary datasets apply`
 * does; MLflow, Kafka and Postgres are the real stack.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ApplyResult, DatasetDeclarationInput } from '@tributary/catalog';
import type { RetrainRequested } from '@tributary/events';
import { MlflowRest, uniqueName, waitFor } from '@tributary/testing';
import type { StoredDecision } from '../src/domain/ports.ts';
import {
  masterEvent,
  mlflowNames,
  seedProductionModel,
  startService,
  type RunningService,
} from './harness.ts';

type PolicyInput = NonNullable<DatasetDeclarationInput['retrain_policies']>[number];

const mlflow = new MlflowRest();
const penguinsContract = parse(
  readFileSync(new URL('../../../contracts/penguins/1.0.0.yaml', import.meta.url), 'utf8'),
) as unknown;

function declaration(name: string, retrainPolicies: PolicyInput[]): DatasetDeclarationInput {
  return {
    apiVersion: 'tributary/v1',
    kind: 'Dataset',
    name,
    owners: ['retrain-policy-tests'],
    contract: { name: 'penguins', versions: ['1.0.0'], current: '1.0.0' },
    retrain_policies: retrainPolicies,
  };
}

/** Applies declarations to the service's catalog (its test's own CATALOG_SCHEMA), with the penguins contract. */
function declare(service: RunningService, ...declarations: DatasetDeclarationInput[]): Promise<ApplyResult> {
  return service.app.runtime.catalogStore.apply({
    datasets: declarations.map((spec) => ({ source: `datasets/${spec.name}.yaml`, spec })),
    contracts: [{ source: 'contracts/penguins/1.0.0.yaml', spec: penguinsContract }],
    actor: 'retrain-policy-test',
  });
}

/** The item of each model, in the order of `models` (undefined where a model has none). */
const ofModels = <T>(items: T[], modelOf: (item: T) => string | null, ...models: string[]) =>
  models.map((model) => items.find((item) => modelOf(item) === model));
const requestsOf = (items: RetrainRequested[], ...models: string[]) =>
  ofModels(items, (r) => r.model_name, ...models);
const decisionsOf = (items: StoredDecision[], ...models: string[]) =>
  ofModels(items, (d) => d.modelName, ...models);

/** Waits until the service handled `n` master.versioned messages in all (redeliveries included). */
const handled = (service: RunningService, n: number) =>
  waitFor(
    async () =>
      (await service.metric(/^consumer_messages_total\{.*outcome="success"/)) >= n ? true : undefined,
    { what: `${n} handled master.versioned` },
  );

describe('retrain policies declared in the catalog (no MLFLOW_MODEL_NAME)', () => {
  let service: RunningService;
  /** Two models driven by dataset A, each with its own experiment, production alias and runs. */
  const one = mlflowNames();
  const two = mlflowNames();
  const A = uniqueName('rtp_a');
  const B = uniqueName('rtp_b');
  const C = uniqueName('rtp_c');
  let seeded: {
    one: Awaited<ReturnType<typeof seedProductionModel>>;
    two: Awaited<ReturnType<typeof seedProductionModel>>;
  };
  let applied: ApplyResult;
  const policyOf = (
    names: ReturnType<typeof mlflowNames>,
    experimentId: string,
    thresholdRows: number,
  ): PolicyInput => ({
    model: names.model,
    alias: 'production',
    stage: null,
    experiments: [experimentId],
    threshold_rows: thresholdRows,
    when_no_compatible_run: 'skip',
  });

  beforeAll(async () => {
    const now = Date.now();
    seeded = {
      one: await seedProductionModel(mlflow, one, { masterRows: 150, endTime: now - 60_000 }),
      two: await seedProductionModel(mlflow, two, { masterRows: 100, endTime: now - 60_000 }),
    };
    // A newer finished run with model two's versions, but in model ONE's experiment: model two
    // searches only its own experiment and must not pick it (it would make new_rows 10).
    await mlflow.createRun(seeded.one.experimentId, {
      tags: two.versions,
      metrics: { master_rows: 290 },
      startTime: now - 20_000,
      endTime: now - 10_000,
    });
    service = await startService({ LOG_LEVEL: 'info' }, { captureLogs: true });
    applied = await declare(
      service,
      declaration(A, [
        policyOf(one, seeded.one.experimentId, 100),
        policyOf(two, seeded.two.experimentId, 100),
      ]),
      declaration(B, []),
    );
  });

  afterAll(async () => {
    await service?.stop();
  });

  it('when a master version of each dataset arrives, then each model of A gets one retrain.requested from its own experiment, and B (no retrain policy) and C (undeclared) request nothing and say why', async () => {
    await service.publish(masterEvent(A, 1, 300));
    await service.publish(masterEvent(B, 1, 300));
    await service.publish(masterEvent(C, 1, 300));

    await service.retrains.waitForMessages(2, 30_000);
    await handled(service, 3);
    const requests = await service.decodedRetrains();
    expect(requests).toHaveLength(2);
    const [first, second] = requestsOf(requests, one.model, two.model);
    expect(first).toMatchObject({
      dataset: A,
      model_name: one.model,
      model_registry_version: seeded.one.version,
      ...one.versions,
      master_version: 1,
      last_compatible_run_id: seeded.one.productionRunId,
      last_run_master_rows: 150,
      new_rows: 150,
      threshold_rows: 100,
    });
    expect(second).toMatchObject({
      dataset: A,
      model_name: two.model,
      ...two.versions,
      master_version: 1,
      // Its own experiment's run, not the newer decoy of the other model's experiment.
      last_compatible_run_id: seeded.two.productionRunId,
      last_run_master_rows: 100,
      new_rows: 200,
      threshold_rows: 100,
    });
    expect(new Set([first!.decision_id, second!.decision_id]).size).toBe(2);

    const decisionsOfA = await service.decisions(`?dataset=${A}&master_version=1`);
    expect(decisionsOfA).toHaveLength(2);
    expect(decisionsOf(decisionsOfA, one.model, two.model)).toEqual([
      expect.objectContaining({
        modelName: one.model,
        outcome: 'threshold_reached',
        policySource: 'catalog',
        catalogRevision: applied.revision,
        retrainEventId: first!.event_id,
      }),
      expect.objectContaining({
        modelName: two.model,
        outcome: 'threshold_reached',
        policySource: 'catalog',
        catalogRevision: applied.revision,
        retrainEventId: second!.event_id,
      }),
    ]);
    // One model's decisions can be asked for by name.
    expect((await service.decisions(`?dataset=${A}&model_name=${two.model}`)).map((d) => d.id)).toEqual([
      second!.decision_id,
    ]);

    const noPolicy = await service.decisionFor(B, 1);
    expect(noPolicy).toMatchObject<Partial<StoredDecision>>({
      outcome: 'no_retrain_policy',
      requested: false,
      modelName: null,
      policySource: null,
      thresholdRows: null,
      retrainEventId: null,
      currentMasterRows: 300,
    });
    expect(noPolicy.reason).toContain(`dataset "${B}" is declared without retrain_policies`);
    const undeclared = await service.decisionFor(C, 1);
    expect(undeclared).toMatchObject<Partial<StoredDecision>>({
      outcome: 'undeclared_dataset',
      requested: false,
      modelName: null,
      policySource: null,
      retrainEventId: null,
    });
    expect(undeclared.reason).toContain(`dataset "${C}" is not declared in the catalog`);
    expect(undeclared.reason).toContain(`datasets/${C}.yaml`);

    expect(await service.metric(/^tributary_retrain_undeclared_total\{[^}]*reason="no_retrain_policy"/)).toBe(
      1,
    );
    expect(
      await service.metric(/^tributary_retrain_undeclared_total\{[^}]*reason="undeclared_dataset"/),
    ).toBe(1);
    for (const [dataset, reason] of [
      [B, 'no_retrain_policy'],
      [C, 'undeclared_dataset'],
    ] as const) {
      const line = service.logs.find((l) => l.dataset === dataset && l.reason === reason);
      expect(line, `${dataset} ${reason}`).toMatchObject({ level: 'info', master_version: 1 });
      expect(line!.msg).toContain('requests no retraining');
    }
    expect(await service.outboxRows()).toBe(2);
    expect(service.deadLetters.messages).toHaveLength(0);
    // Not an error: no failed attempt (so no retry) and no dead letter.
    expect(service.logs.filter((l) => l.msg === 'handler failed')).toEqual([]);
    expect(await service.metric(/^consumer_messages_total\{.*outcome="dead_lettered"/)).toBe(0);
  });

  it('when the same master versions are delivered again, then nothing is decided or requested twice', async () => {
    const master = masterEvent(A, 1, 300);
    // The same master versions again: a copy of A's with the same event id, one with another id, and
    // new events for B and C; each is a master version already decided.
    await service.publish(master);
    await service.publish({ ...master, event_id: `${master.event_id}-copy` });
    await service.publish(masterEvent(B, 1, 300));
    await service.publish(masterEvent(C, 1, 300));
    await handled(service, 7);

    expect(await service.outboxRows()).toBe(2);
    expect(await service.decisions(`?dataset=${A}&master_version=1`)).toHaveLength(2);
    expect(await service.decisions(`?dataset=${B}`)).toHaveLength(1);
    expect(await service.decisions(`?dataset=${C}`)).toHaveLength(1);
    // Two models twice, B and C once each.
    expect(await service.metric(/^retrain_redeliveries_total/)).toBe(6);
    expect(await service.metric(/^tributary_retrain_undeclared_total\{[^}]*reason="no_retrain_policy"/)).toBe(
      1,
    );
    expect(
      await service.metric(/^tributary_retrain_undeclared_total\{[^}]*reason="undeclared_dataset"/),
    ).toBe(1);
  });

  it('when A is applied again with other thresholds, then the next master version uses them without a restart', async () => {
    const reapplied = await declare(
      service,
      declaration(A, [
        policyOf(one, seeded.one.experimentId, 1000),
        policyOf(two, seeded.two.experimentId, 250),
      ]),
      declaration(B, []),
    );
    expect(reapplied.revision).toBeGreaterThan(applied.revision);

    await service.publish(masterEvent(A, 2, 360));
    const [oneV2, twoV2] = decisionsOf(
      await waitFor(async () => {
        const found = await service.decisions(`?dataset=${A}&master_version=2`);
        return found.length === 2 ? found : undefined;
      }),
      one.model,
      two.model,
    );
    // Under the old threshold (100) model one would have been requested: 360 - 150 = 210.
    expect(oneV2).toMatchObject({
      modelName: one.model,
      outcome: 'below_threshold',
      requested: false,
      thresholdRows: 1000,
      newRows: 210,
      catalogRevision: reapplied.revision,
    });
    expect(twoV2).toMatchObject({
      modelName: two.model,
      outcome: 'threshold_reached',
      thresholdRows: 250,
      newRows: 260,
      catalogRevision: reapplied.revision,
    });

    // The topic, in order (one key, one partition): the two requests of version 1 and only then the
    // one of version 2; a request repeated by the redeliveries would come before it.
    await service.retrains.waitForMessages(3, 30_000);
    const events = await service.decodedRetrains();
    expect(events).toHaveLength(3);
    expect(
      requestsOf(events.slice(0, 2), one.model, two.model).map((e) => [e?.master_version, e?.threshold_rows]),
    ).toEqual([
      [1, 100],
      [1, 100],
    ]);
    expect(events[2]).toMatchObject({ master_version: 2, model_name: two.model, threshold_rows: 250 });
    expect(events[2]!.decision_id).toBe(twoV2!.id);
  });
});

describe('the implicit env policy beside declared datasets (MLFLOW_MODEL_NAME set)', () => {
  let service: RunningService | undefined;

  afterAll(async () => {
    await service?.stop();
  });

  it('when MLFLOW_MODEL_NAME is set, then only undeclared datasets use it, a declared dataset uses its declaration only, and the start-up warns naming the file to write', async () => {
    const envModel = mlflowNames();
    const declaredModel = mlflowNames();
    const now = Date.now();
    const env = await seedProductionModel(mlflow, envModel, { masterRows: 100, endTime: now - 60_000 });
    const declared = await seedProductionModel(mlflow, declaredModel, {
      masterRows: 100,
      endTime: now - 60_000,
    });
    service = await startService(
      {
        MLFLOW_MODEL_NAME: envModel.model,
        MLFLOW_EXPERIMENT_IDS: env.experimentId,
        RETRAIN_THRESHOLD_ROWS: '10',
      },
      { captureLogs: true },
    );
    const warning = service.logs.find((l) => l.level === 'warn' && l.msg.includes('MLFLOW_MODEL_NAME'));
    expect(warning?.msg).toContain('datasets/<dataset>.yaml with a retrain_policies: entry');
    expect(warning?.msg).toContain('docs/onboarding.md');

    const D = uniqueName('rtp_d');
    const E = uniqueName('rtp_e');
    const F = uniqueName('rtp_f');
    await declare(
      service,
      declaration(D, [
        {
          model: declaredModel.model,
          experiments: [declared.experimentId],
          threshold_rows: 50,
        },
      ]),
      declaration(F, []),
    );
    await service.publish(masterEvent(D, 1, 200));
    await service.publish(masterEvent(E, 1, 200));
    await service.publish(masterEvent(F, 1, 200));

    await service.retrains.waitForMessages(2, 30_000);
    await handled(service, 3);
    const requests = (await service.decodedRetrains()).map((e) => [
      e.dataset,
      e.model_name,
      e.threshold_rows,
      e.new_rows,
    ]);
    expect(requests).toHaveLength(2);
    expect(requests).toEqual(
      expect.arrayContaining([
        [D, declaredModel.model, 50, 100],
        [E, envModel.model, 10, 100],
      ]),
    );
    expect(await service.decisions(`?dataset=${D}`)).toEqual([
      expect.objectContaining({ modelName: declaredModel.model, policySource: 'catalog' }),
    ]);
    expect(await service.decisions(`?dataset=${E}`)).toEqual([
      expect.objectContaining({
        modelName: envModel.model,
        policySource: 'environment',
        catalogRevision: null,
      }),
    ]);
    // Declared without retrain policies: the env policy does not apply to it.
    expect(await service.decisions(`?dataset=${F}`)).toEqual([
      expect.objectContaining({ modelName: null, outcome: 'no_retrain_policy' }),
    ]);
    expect(await service.outboxRows()).toBe(2);
    const hint = service.logs.find((l) => l.level === 'warn' && l.dataset === E);
    expect(hint?.msg).toContain(`datasets/${E}.yaml`);
  });
});

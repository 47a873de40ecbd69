import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTracing } from '@tributary/telemetry';
import { MlflowRest, stackEnv, waitFor } from '@tributary/testing';
import {
  masterEvent,
  mlflowNames,
  seedProductionModel,
  startService,
  type RunningService,
} from './harness.ts';

const mlflow = new MlflowRest();
const spans = new InMemorySpanExporter();
let service: RunningService | undefined;

beforeAll(() => {
  // Registered before the first service starts, whose runtime then reuses this provider.
  startTracing({ serviceName: 'retrain-policy', spanProcessors: [new SimpleSpanProcessor(spans)] });
});

afterEach(async () => {
  await service?.stop();
  service = undefined;
});

/** Waits until the service settled, when a wrongly enqueued retrain.requested would have arrived. */
async function expectNoRetrain(s: RunningService) {
  await s.settled();
  expect(await s.outboxRows()).toBe(0);
  expect(s.retrains.messages).toHaveLength(0);
}

describe('retrain decisions against MLflow', () => {
  // First in this file: the span exporter above only sees the first service's spans.
  it('when the master grew by at least the threshold since the last compatible run, then one retrain.requested carries the model, versions, master and that run', async () => {
    const names = mlflowNames();
    const now = Date.now();
    const { experimentId, productionRunId, version } = await seedProductionModel(mlflow, names, {
      masterRows: 150,
      endTime: now - 60_000,
    });
    // The last compatible run is the newest FINISHED one with the same three versions; a newer
    // failed run and a newer run of another split version do not count.
    const lastCompatible = await mlflow.createRun(experimentId, {
      tags: names.versions,
      metrics: { master_rows: 200 },
      startTime: now - 40_000,
      endTime: now - 30_000,
    });
    await mlflow.createRun(experimentId, {
      tags: names.versions,
      metrics: { master_rows: 340 },
      status: 'FAILED',
      startTime: now - 20_000,
      endTime: now - 10_000,
    });
    await mlflow.createRun(experimentId, {
      tags: { ...names.versions, split_version: 'another-split' },
      metrics: { master_rows: 340 },
      startTime: now - 20_000,
      endTime: now - 5_000,
    });

    service = await startService({ MLFLOW_MODEL_NAME: names.model, RETRAIN_THRESHOLD_ROWS: '100' });
    const master = masterEvent(names.dataset, 7, 344);
    await service.publish(master);

    const [message] = await service.retrains.waitForMessages(1, 30_000);
    const [event] = await service.decodedRetrains();
    const decision = await service.decisionFor(names.dataset, 7);
    expect(event).toMatchObject({
      dataset: names.dataset,
      decision_id: decision.id,
      model_name: names.model,
      model_registry_version: version,
      ...names.versions,
      master_version: 7,
      master_location: master.location,
      master_checksum: master.checksum,
      current_master_rows: 344,
      last_run_master_rows: 200,
      new_rows: 144,
      threshold_rows: 100,
      last_compatible_run_id: lastCompatible,
      run_id: decision.runId,
    });
    expect(event!.reason).toContain('144 >= threshold 100');
    expect(message!.key).toBe(names.dataset);
    expect(message!.headers['event-id']).toBe(event!.event_id);
    expect(decision).toMatchObject({
      outcome: 'threshold_reached',
      requested: true,
      modelSelectedBy: 'alias production',
      productionRunId,
      lastCompatibleRunId: lastCompatible,
      retrainEventId: event!.event_id,
      masterEventId: master.event_id,
    });
    expect(
      await service.metric(/^retrain_decisions_total\{.*outcome="threshold_reached".*requested="true"/),
    ).toBe(1);
    expect(await service.metric(/^dag_status\{.*dag="retrain_policy".*status="success"/)).toBe(1);

    // The decision is on the run's trace: the consumer span whose trace id is the event's run_id.
    const span = await waitFor(() =>
      spans.getFinishedSpans().find((s) => s.attributes['retrain.decision_id'] === decision.id),
    );
    expect(span.spanContext().traceId).toBe(event!.run_id);
    expect(span.attributes).toMatchObject({
      'retrain.outcome': 'threshold_reached',
      'retrain.requested': true,
      'retrain.new_rows': 144,
      'retrain.threshold_rows': 100,
      'retrain.last_compatible_run_id': lastCompatible,
      'retrain.feature_version': names.versions.feature_version,
      'tributary.master_version': 7,
    });
  });

  it('when the master grew by less than the threshold, then no retrain.requested and the decision is stored with its reason', async () => {
    const names = mlflowNames();
    const { experimentId } = await seedProductionModel(mlflow, names, { masterRows: 200 });
    service = await startService({
      MLFLOW_MODEL_NAME: names.model,
      MLFLOW_EXPERIMENT_IDS: experimentId,
      RETRAIN_THRESHOLD_ROWS: '1000',
    });
    await service.publish(masterEvent(names.dataset, 3, 344));

    const decision = await service.decisionFor(names.dataset, 3);
    expect(decision).toMatchObject({
      outcome: 'below_threshold',
      requested: false,
      newRows: 144,
      lastRunMasterRows: 200,
      thresholdRows: 1000,
      retrainEventId: null,
    });
    expect(decision.reason).toBe(
      `new_rows 144 = 344 master rows - 200 of run ${decision.lastCompatibleRunId}; 144 < threshold 1000`,
    );
    await expectNoRetrain(service);
  });

  it('when an older master version arrives after a newer one was decided, then it is recorded as superseded and nothing is requested for it', async () => {
    const names = mlflowNames();
    const { experimentId } = await seedProductionModel(mlflow, names, { masterRows: 200 });
    service = await startService({
      MLFLOW_MODEL_NAME: names.model,
      MLFLOW_EXPERIMENT_IDS: experimentId,
      RETRAIN_THRESHOLD_ROWS: '10',
    });
    await service.publish(masterEvent(names.dataset, 5, 300));
    expect(await service.decisionFor(names.dataset, 5)).toMatchObject({ outcome: 'threshold_reached' });
    // Version 4 comes late (a replayed dead letter): it grew past the threshold too, but is not current.
    await service.publish(masterEvent(names.dataset, 4, 250));
    const late = await service.decisionFor(names.dataset, 4);
    expect(late).toMatchObject({ outcome: 'superseded', requested: false, retrainEventId: null });
    expect(late.reason).toBe(
      'master version 4 is older than version 5, already decided: it is not the current master',
    );
  });

  describe('when no finished run has the production versions', () => {
    async function seedWithoutCompatibleRun() {
      const names = mlflowNames();
      const experimentId = await mlflow.createExperiment(names.experiment);
      // The production version comes from a run that was killed; the only finished run trained
      // another model version.
      const productionRun = await mlflow.createRun(experimentId, {
        tags: names.versions,
        metrics: { master_rows: 10 },
        status: 'KILLED',
      });
      await mlflow.createRun(experimentId, {
        tags: { ...names.versions, model_version: 'm-older' },
        metrics: { master_rows: 10 },
      });
      await mlflow.createRegisteredModel(names.model);
      await mlflow.setAlias(
        names.model,
        'production',
        await mlflow.createModelVersion(names.model, productionRun),
      );
      return names;
    }

    it('and the policy is not to request, then the decision says so and nothing is requested', async () => {
      const names = await seedWithoutCompatibleRun();
      service = await startService({
        MLFLOW_MODEL_NAME: names.model,
        RETRAIN_WHEN_NO_COMPATIBLE_RUN: 'false',
      });
      await service.publish(masterEvent(names.dataset, 1, 50));

      const decision = await service.decisionFor(names.dataset, 1);
      expect(decision).toMatchObject({
        outcome: 'no_compatible_run',
        requested: false,
        lastCompatibleRunId: null,
      });
      expect(decision.reason).toContain(
        `no finished run has feature_version=${names.versions.feature_version}`,
      );
      expect(decision.reason).toContain('RETRAIN_WHEN_NO_COMPATIBLE_RUN is false');
      await expectNoRetrain(service);
    });

    it('and the policy is to request, then one retrain.requested says there is no previous run', async () => {
      const names = await seedWithoutCompatibleRun();
      service = await startService({
        MLFLOW_MODEL_NAME: names.model,
        RETRAIN_WHEN_NO_COMPATIBLE_RUN: 'true',
      });
      await service.publish(masterEvent(names.dataset, 1, 50));

      await service.retrains.waitForMessages(1, 30_000);
      const [event] = await service.decodedRetrains();
      expect(event).toMatchObject({
        ...names.versions,
        last_compatible_run_id: null,
        last_run_master_rows: null,
        new_rows: 50,
        current_master_rows: 50,
      });
      expect(event!.reason).toContain('RETRAIN_WHEN_NO_COMPATIBLE_RUN is true');
      const decision = await service.decisionFor(names.dataset, 1);
      expect(decision).toMatchObject({
        outcome: 'no_compatible_run',
        requested: true,
        retrainEventId: event!.event_id,
      });
    });
  });

  it('when no version holds the production alias, then the latest version in the Production stage is used', async () => {
    const names = mlflowNames();
    const experimentId = await mlflow.createExperiment(names.experiment);
    const oldRun = await mlflow.createRun(experimentId, {
      tags: { ...names.versions, model_version: 'm-old' },
      metrics: { master_rows: 10 },
    });
    const stagedRun = await mlflow.createRun(experimentId, {
      tags: names.versions,
      metrics: { master_rows: 100 },
    });
    await mlflow.createRegisteredModel(names.model);
    await mlflow.transitionStage(
      names.model,
      await mlflow.createModelVersion(names.model, oldRun),
      'Archived',
    );
    const staged = await mlflow.createModelVersion(names.model, stagedRun);
    await mlflow.transitionStage(names.model, staged, 'Production');

    service = await startService({ MLFLOW_MODEL_NAME: names.model, RETRAIN_THRESHOLD_ROWS: '10' });
    await service.publish(masterEvent(names.dataset, 2, 120));

    await service.retrains.waitForMessages(1, 30_000);
    const [event] = await service.decodedRetrains();
    expect(event).toMatchObject({
      model_registry_version: staged,
      ...names.versions,
      last_compatible_run_id: stagedRun,
      new_rows: 20,
    });
    const decision = await service.decisionFor(names.dataset, 2);
    expect(decision.modelSelectedBy).toBe('stage Production');
  });

  it('when the production model cannot be found or is incomplete, then each decision names why and nothing is requested', async () => {
    const names = mlflowNames();
    service = await startService({ MLFLOW_MODEL_NAME: names.model, RETRAIN_THRESHOLD_ROWS: '0' });

    await service.publish(masterEvent(names.dataset, 1, 100));
    expect(await service.decisionFor(names.dataset, 1)).toMatchObject({
      outcome: 'no_production_model',
      requested: false,
      reason: `registered model "${names.model}" does not exist`,
    });

    const experimentId = await mlflow.createExperiment(names.experiment);
    const untagged = await mlflow.createRun(experimentId, {
      tags: { feature_version: names.versions.feature_version, model_version: '  ' },
      metrics: { master_rows: 10 },
    });
    await mlflow.createRegisteredModel(names.model);
    const version = await mlflow.createModelVersion(names.model, untagged);
    await service.publish(masterEvent(names.dataset, 2, 100));
    expect(await service.decisionFor(names.dataset, 2)).toMatchObject({
      outcome: 'no_production_model',
      reason: `model "${names.model}" has no version with alias "production" and none is in stage "Production"`,
    });

    await mlflow.setAlias(names.model, 'production', version);
    await service.publish(masterEvent(names.dataset, 3, 100));
    const incomplete = await service.decisionFor(names.dataset, 3);
    expect(incomplete).toMatchObject({ outcome: 'invalid_production_model', modelRegistryVersion: null });
    expect(incomplete.reason).toBe(
      `run ${untagged} of version ${version} of model "${names.model}" (alias production) has no value for the tag(s) split_version, model_version`,
    );

    const noRun = await mlflow.createModelVersion(names.model);
    await mlflow.setAlias(names.model, 'production', noRun);
    await service.publish(masterEvent(names.dataset, 4, 100));
    expect((await service.decisionFor(names.dataset, 4)).reason).toContain('was not registered from a run');

    await expectNoRetrain(service);
    expect(await service.metric(/^dag_status\{.*dag="retrain_policy".*status="failed"/)).toBe(4);
    expect(service.deadLetters.messages).toHaveLength(0);
  });

  it('when the last compatible run has no usable master_rows, then the decision says so, without retries or dead letters', async () => {
    const names = mlflowNames();
    const now = Date.now();
    const { experimentId } = await seedProductionModel(mlflow, names, { endTime: now - 60_000 });
    service = await startService({
      MLFLOW_MODEL_NAME: names.model,
      MLFLOW_EXPERIMENT_IDS: experimentId,
      RETRAIN_THRESHOLD_ROWS: '0',
    });

    await service.publish(masterEvent(names.dataset, 1, 100));
    const missing = await service.decisionFor(names.dataset, 1);
    expect(missing).toMatchObject({ outcome: 'invalid_compatible_run', requested: false });
    expect(missing.reason).toBe(
      `last compatible run ${missing.lastCompatibleRunId} has no master_rows metric`,
    );

    for (const [i, value] of (['NaN', 12.5, -3] as const).entries()) {
      const run = await mlflow.createRun(experimentId, {
        tags: names.versions,
        metrics: { master_rows: value },
        endTime: now - 50_000 + i * 1000,
      });
      await service.publish(masterEvent(names.dataset, i + 2, 100));
      const decision = await service.decisionFor(names.dataset, i + 2);
      expect(decision).toMatchObject({ outcome: 'invalid_compatible_run', lastCompatibleRunId: run });
      expect(decision.reason).toBe(
        `master_rows of last compatible run ${run} is ${value}, expected a whole number >= 0`,
      );
    }
    await expectNoRetrain(service);
    expect(service.deadLetters.messages).toHaveLength(0);
    expect(await service.metric(/^consumer_messages_total\{.*outcome="success"/)).toBe(4);
  });

  it('when the tracking URI answers but is not MLflow, then the decision says the answer cannot be used, without retries', async () => {
    const names = mlflowNames();
    // The stack's S3 server: a real HTTP server that answers every MLflow path with an XML error.
    service = await startService({
      MLFLOW_TRACKING_URI: stackEnv.S3_ENDPOINT,
      MLFLOW_MODEL_NAME: names.model,
    });
    await service.publish(masterEvent(names.dataset, 1, 100));

    const decision = await service.decisionFor(names.dataset, 1);
    expect(decision).toMatchObject({ outcome: 'invalid_mlflow_answer', requested: false });
    expect(decision.reason).toMatch(
      /^MLflow gave an answer that cannot be used: registered-models\/get answered 404 with a body that is not JSON: <\?xml/,
    );
    expect(await service.metric(/^mlflow_requests_total\{.*outcome="rejected"/)).toBe(1);
    expect(service.deadLetters.messages).toHaveLength(0);
    await expectNoRetrain(service);
  });

  it('when the same master version is delivered twice, then it is decided once and one retrain.requested is emitted', async () => {
    const names = mlflowNames();
    await seedProductionModel(mlflow, names, { masterRows: 0 });
    service = await startService({ MLFLOW_MODEL_NAME: names.model, RETRAIN_THRESHOLD_ROWS: '1' });
    const master = masterEvent(names.dataset, 5, 10);
    await service.publish(master);
    await service.publish(master);
    // A republished copy with another event id is the same master version too.
    await service.publish({ ...master, event_id: `${master.event_id}-copy` });

    await service.retrains.waitForMessages(1, 30_000);
    await waitFor(async () =>
      (await service!.metric(/^consumer_messages_total\{.*outcome="success"/)) === 3 ? true : undefined,
    );
    await service.settled();
    expect(service.retrains.messages).toHaveLength(1);
    expect(await service.outboxRows()).toBe(1);
    expect(await service.decisions(`?dataset=${names.dataset}`)).toHaveLength(1);
    expect(await service.metric(/^retrain_redeliveries_total/)).toBe(2);
  });
});

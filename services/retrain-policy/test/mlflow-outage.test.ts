import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MlflowRest, freePort, startMlflowServer, waitFor, type MlflowServer } from '@tributary/testing';
import {
  masterEvent,
  mlflowNames,
  seedProductionModel,
  startService,
  type RunningService,
} from './harness.ts';

let service: RunningService | undefined;
let mlflowServer: MlflowServer | undefined;
let blackHole: { server: Server; sockets: Set<Socket> } | undefined;

afterEach(async () => {
  await service?.stop();
  await mlflowServer?.stop();
  if (blackHole) {
    for (const socket of blackHole.sockets) socket.destroy();
    await new Promise((resolve) => blackHole!.server.close(resolve));
  }
  service = undefined;
  mlflowServer = undefined;
  blackHole = undefined;
});

async function readiness(s: RunningService) {
  const res = await s.app.http.inject({ method: 'GET', url: '/readyz' });
  return { status: res.statusCode, checks: res.json<{ checks: Record<string, string> }>().checks };
}

describe('MLflow outages', () => {
  it(
    'when MLflow is down and comes back, then the message is retried and handled once',
    { timeout: 300_000 },
    async () => {
      // A dedicated MLflow, filled while up, then stopped; its data stays for the restart.
      mlflowServer = await startMlflowServer();
      const names = mlflowNames();
      await seedProductionModel(new MlflowRest(mlflowServer.url), names, { masterRows: 100 });
      await mlflowServer.stop();

      service = await startService({
        MLFLOW_TRACKING_URI: mlflowServer.url,
        MLFLOW_MODEL_NAME: names.model,
        RETRAIN_THRESHOLD_ROWS: '10',
        MLFLOW_TIMEOUT_MS: '1000',
        // Enough message retries (up to two seconds apart) to outlast an MLflow restart.
        CONSUMER_MAX_RETRIES: '100',
        CONSUMER_RETRY_BASE_MS: '200',
        CONSUMER_RETRY_MAX_MS: '2000',
      });
      await service.publish(masterEvent(names.dataset, 4, 150));

      await waitFor(
        async () =>
          (await service!.metric(/^mlflow_requests_total\{.*outcome="unreachable"/)) >= 4 ? true : undefined,
        { what: 'failed MLflow requests' },
      );
      const down = await readiness(service);
      expect(down.status).toBe(503);
      expect(down.checks.mlflow).toBe('MLflow unreachable: ECONNREFUSED');
      expect(await service.decisions()).toEqual([]);

      await mlflowServer.start();
      await service.retrains.waitForMessages(1, 60_000);
      const [event] = await service.decodedRetrains();
      expect(event).toMatchObject({ dataset: names.dataset, master_version: 4, new_rows: 50 });
      await service.settled();
      expect(service.retrains.messages).toHaveLength(1);
      expect(await service.decisions()).toHaveLength(1);
      expect(service.deadLetters.messages).toHaveLength(0);
      expect(await service.metric(/^consumer_messages_total\{.*outcome="success"/)).toBe(1);
      expect((await readiness(service)).checks.mlflow).toBe('ok');
    },
  );

  it('when MLflow accepts connections but never answers, then each request times out, the message is dead-lettered after its retries and the service stays up', async () => {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    blackHole = { server, sockets };
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));

    const names = mlflowNames();
    service = await startService({
      MLFLOW_TRACKING_URI: `http://127.0.0.1:${port}`,
      MLFLOW_MODEL_NAME: names.model,
      MLFLOW_TIMEOUT_MS: '300',
      MLFLOW_RETRIES: '1',
      CONSUMER_MAX_RETRIES: '2',
    });
    await service.publish(masterEvent(names.dataset, 1, 10));

    await service.deadLetters.waitForMessages(1, 30_000);
    const [letter] = await service.decodedDeadLetters();
    expect(letter).toMatchObject({
      error_code: 'RTP_ERR_MLFLOW_UNAVAILABLE',
      retriable: true,
      attempts: 3,
      source_topic: `${service.prefix}master.versioned`,
    });
    expect(letter!.error_message).toBe(
      'MLflow registered-models/get failed after 2 attempt(s): no answer within 300 ms',
    );
    // Three message attempts, two requests each.
    expect(await service.metric(/^mlflow_requests_total\{.*outcome="timeout"/)).toBe(6);
    expect(await service.decisions()).toEqual([]);
    expect(service.retrains.messages).toHaveLength(0);

    expect((await service.app.http.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const ready = await readiness(service);
    expect(ready.status).toBe(503);
    expect(ready.checks).toMatchObject({ consumer: 'ok', database: 'ok' });
    expect(ready.checks.mlflow).toBe('MLflow did not answer within 300 ms');
  });
});

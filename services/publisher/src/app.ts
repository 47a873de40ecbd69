import { datasetPublished, qualityEvaluated } from '@tributary/events';
import { outboxMigrations } from '@tributary/outbox';
import {
  assembleService,
  createRuntime,
  intervalPoller,
  outboxRelayWorker,
  type ServiceApp,
} from '@tributary/runtime';
import { createObjectStore, type ObjectStoreOptions, s3StoreOptions } from '@tributary/storage';
import type { Config } from './config.ts';
import { ObjectPublishStore, UriArtifactReader, applyArchiveLifecycle } from './data-access/object-stores.ts';
import { PgPublishRepository } from './data-access/publish-repository.ts';
import { publishDataset, type PublishDeps, type PublishResult } from './domain/publish-dataset.ts';
import { sweepArchives } from './domain/sweep-archives.ts';
import { registerRoutes } from './entry-points/http/routes.ts';
import { handlers } from './entry-points/kafka/handlers/index.ts';
import { archiveSweeper } from './entry-points/schedule/archive-sweeper.ts';

/** Topics the publisher reads and writes; created at start-up if missing. */
export const TOPICS = [qualityEvaluated.topic, datasetPublished.topic];

const DAG = 'dataset_refresh';

/** Wires the publisher without starting or listening: main.ts and the tests start it. */
export async function buildApp(config: Config): Promise<ServiceApp> {
  const runtime = await createRuntime(config, {
    migrations: [new URL('../migrations/', import.meta.url), outboxMigrations],
    topics: TOPICS,
  });
  try {
    const s3: ObjectStoreOptions = s3StoreOptions(config);
    const store = new ObjectPublishStore(createObjectStore(config.PUBLISH_STORE_URI, s3));
    const repo = new PgPublishRepository(runtime.pool);
    const lifecycle = await applyArchiveLifecycle(
      config.PUBLISH_STORE_URI,
      s3,
      config.ARCHIVE_RETENTION_DAYS,
    );
    runtime.logger.info({ lifecycle, retentionDays: config.ARCHIVE_RETENTION_DAYS }, 'archive retention');

    const deps: PublishDeps = {
      store,
      reader: new UriArtifactReader(s3),
      repo,
      fault: config.PUBLISH_FAULT_INJECTION,
      faultAttempts: config.PUBLISH_FAULT_INJECTION_ATTEMPTS,
      retryDelaysMs: config.PUBLISH_RETRY_DELAYS_MS,
      retentionDays: config.ARCHIVE_RETENTION_DAYS,
      logger: runtime.logger,
    };
    const sweep = () =>
      sweepArchives({
        expired: (days) => repo.expiredArchives(days),
        keys: (prefix) => store.keys(prefix),
        delete: (keys) => store.delete(keys),
        markSwept: (version) => repo.markSwept(version),
        retentionDays: config.ARCHIVE_RETENTION_DAYS,
      });
    const observe = (result: PublishResult) => {
      if (result.outcome === 'retrying') return;
      const status =
        result.outcome === 'publish_failed'
          ? 'failed'
          : result.outcome === 'gate_failed'
            ? 'skipped'
            : 'success';
      runtime.metrics.taskDuration.observe({ task: 'publish_dataset', status }, result.seconds);
      runtime.metrics.dagStatus.inc({ dag: DAG, status });
    };
    return assembleService({
      runtime,
      handlers: handlers(deps, observe),
      workers: [
        intervalPoller({
          name: 'publish-retry-poller',
          intervalMs: config.PUBLISH_RETRY_POLL_MS,
          logger: runtime.logger,
          tick: async () => {
            for (const due of await repo.claimDue(10)) {
              observe(await publishDataset(due.evaluated, { runId: due.runId, attempt: due.attempt }, deps));
            }
          },
        }),
        outboxRelayWorker(runtime, [datasetPublished]),
        archiveSweeper(sweep, config.ARCHIVE_SWEEP_INTERVAL_MS, runtime.logger),
      ],
      routes: (http) => registerRoutes(http, { adminToken: config.ADMIN_TOKEN, repo, sweep }),
    });
  } catch (err) {
    await runtime.close();
    throw err;
  }
}

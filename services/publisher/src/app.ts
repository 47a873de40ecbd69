import { datasetPublished, qualityEvaluated } from '@tributary/events';
import { outboxMigrations } from '@tributary/outbox';
import { assembleService, createRuntime, outboxRelayWorker, type ServiceApp } from '@tributary/runtime';
import { createObjectStore, type ObjectStoreOptions, s3StoreOptions } from '@tributary/storage';
import type { Config } from './config.ts';
import { ObjectPublishStore, UriArtifactReader, applyArchiveLifecycle } from './data-access/object-stores.ts';
import { PgPublishRepository } from './data-access/publish-repository.ts';
import type { PublishDeps, PublishResult } from './domain/publish-dataset.ts';
import { sweepArchives } from './domain/sweep-archives.ts';
import { registerRoutes } from './entry-points/http/routes.ts';
import { handlers } from './entry-points/kafka/handlers/index.ts';
import { observeRun } from './entry-points/observe-run.ts';
import { archiveSweeper } from './entry-points/schedule/archive-sweeper.ts';
import { publishRetryPoller } from './entry-points/schedule/publish-retry-poller.ts';

/** Topics the publisher reads and writes; created at start-up if missing. */
export const TOPICS = [qualityEvaluated.topic, datasetPublished.topic];

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
    const observe = (result: PublishResult) => observeRun(runtime.metrics, result);
    return assembleService({
      runtime,
      handlers: handlers(deps, observe),
      workers: [
        publishRetryPoller({
          repo,
          publish: deps,
          observe,
          intervalMs: config.PUBLISH_RETRY_POLL_MS,
          leaseMs: config.PUBLISH_RETRY_LEASE_MS,
          logger: runtime.logger,
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

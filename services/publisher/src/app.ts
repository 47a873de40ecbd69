import { AppError } from '@tributary/errors';
import { outboxMigrations } from '@tributary/outbox';
import { JobQueue, retryPolicy } from '@tributary/jobs';
import {
  assembleService,
  createRuntime,
  jobWorker,
  outboxRelayWorker,
  type ServiceApp,
} from '@tributary/runtime';
import { createObjectStore, type ObjectStoreOptions, s3StoreOptions } from '@tributary/storage';
import type { Config } from './config.ts';
import { manifest } from './manifest.ts';
import { StreamedCandidateFiles } from './data-access/candidate-files.ts';
import { ObjectPublishStore, UriArtifactReader, applyArchiveLifecycle } from './data-access/object-stores.ts';
import { PgPublishRepository } from './data-access/publish-repository.ts';
import type { PublishDeps, PublishResult } from './domain/publish-dataset.ts';
import { archiveLifecycleRules, type RetentionPolicy } from './domain/retention.ts';
import { sweepArchives } from './domain/sweep-archives.ts';
import { registerRoutes } from './entry-points/http/routes.ts';
import { handlers } from './entry-points/kafka/handlers/index.ts';
import { initRunMetrics, observeRun } from './entry-points/observe-run.ts';
import { archiveSweeper } from './entry-points/schedule/archive-sweeper.ts';
import { definePublishRetry } from './entry-points/jobs/publish-retry.job.ts';

/** Wires the publisher without starting or listening: main.ts and the tests start it. */
export async function buildApp(config: Config): Promise<ServiceApp> {
  const runtime = await createRuntime(config, {
    migrations: [new URL('../migrations/', import.meta.url), outboxMigrations],
    topics: manifest.topics,
  });
  try {
    const s3: ObjectStoreOptions = s3StoreOptions(config);
    const store = new ObjectPublishStore(createObjectStore(config.PUBLISH_STORE_URI, s3));
    const repo = new PgPublishRepository(runtime.pool);
    const { catalog } = runtime;

    // Archive retention: the retention_days of the dataset declaring each evaluation set, as the
    // catalog holds it now; ARCHIVE_RETENTION_DAYS for the evaluation sets no dataset declares.
    const retentionPolicy = (): RetentionPolicy => ({
      defaultDays: config.ARCHIVE_RETENTION_DAYS,
      byEvaluationSet: Object.fromEntries(
        catalog.refreshJobs().map(({ dataset, job }) => [job.name, dataset.retention_days]),
      ),
    });
    // The S3 lifecycle rules follow the catalog: set at start-up, then again whenever a change of
    // the declarations changes them (one update at a time; every replica writes the same rules).
    let appliedRules = '';
    let lifecycleUpdate = Promise.resolve();
    const updateLifecycle = () => {
      lifecycleUpdate = lifecycleUpdate
        .catch(() => undefined)
        .then(async () => {
          const rules = archiveLifecycleRules(retentionPolicy());
          if (JSON.stringify(rules) === appliedRules) return;
          const update = await applyArchiveLifecycle(config.PUBLISH_STORE_URI, s3, rules);
          // Refused (or not S3): tried again at the next change of the catalog.
          if (update.applied) appliedRules = JSON.stringify(rules);
          runtime.logger.info(
            {
              lifecycle: update.applied,
              rules,
              keptRules: update.kept,
              removedRules: update.removed,
              ...(update.reason === undefined ? {} : { reason: update.reason }),
              defaultRetentionDays: config.ARCHIVE_RETENTION_DAYS,
            },
            'archive retention',
          );
        });
      return lifecycleUpdate;
    };
    await updateLifecycle();
    catalog.onChange(() => {
      updateLifecycle().catch((err: unknown) =>
        runtime.logger.warn({ err }, 'archive lifecycle rules not updated; the sweeper still applies'),
      );
    });

    const reader = new UriArtifactReader(s3);
    const deps: PublishDeps = {
      store,
      reader,
      candidates: new StreamedCandidateFiles({ store: store.store, reader, workDir: config.WORK_DIR }),
      repo,
      fault: config.PUBLISH_FAULT_INJECTION,
      faultAttempts: config.PUBLISH_FAULT_INJECTION_ATTEMPTS,
      declaration: async (evaluationSet) => {
        const declared = await catalog.refreshJob(evaluationSet).catch((err: unknown) => {
          throw new AppError('CATALOG_ERR_UNAVAILABLE', `catalog not readable: ${String(err)}`, {
            cause: err,
          });
        });
        return declared && { dataset: declared.dataset.name, retentionDays: declared.dataset.retention_days };
      },
      retentionDays: config.ARCHIVE_RETENTION_DAYS,
      logger: runtime.logger,
    };
    const sweep = () =>
      sweepArchives({
        expired: (days) => repo.expiredArchives(days),
        keys: (prefix) => store.keys(prefix),
        delete: (keys) => store.delete(keys),
        markSwept: (version) => repo.markSwept(version),
        retention: async () => {
          await catalog.reload();
          return retentionPolicy();
        },
      });
    initRunMetrics(runtime.metrics);
    const observe = (result: PublishResult) => observeRun(runtime.metrics, result);
    const jobs = new JobQueue({
      pool: runtime.pool,
      schema: runtime.schema,
      logger: runtime.logger,
      superviseMs: config.PUBLISH_RETRY_POLL_MS,
    });
    const publish = definePublishRetry(jobs, deps, observe, {
      retry: retryPolicy(config.PUBLISH_RETRY_DELAYS_MS),
      leaseMs: config.PUBLISH_RETRY_LEASE_MS,
    });
    return assembleService({
      manifest,
      runtime,
      area: 'PUB',
      handlers: handlers(publish),
      workers: [
        jobWorker(jobs, {
          intervalMs: config.PUBLISH_RETRY_POLL_MS,
          logger: runtime.logger,
          afterStart: async () => {
            const handed = await repo.handOverParked((p, tx) =>
              publish
                .send(
                  { evaluated: p.evaluated, runId: p.runId },
                  { attempt: p.attempt, startAfter: p.dueAt, traceparent: p.traceparent, tx },
                )
                .then(() => undefined),
            );
            if (handed > 0)
              runtime.logger.info({ handed }, 'parked publishes of the retry poller handed to jobs');
          },
        }),
        outboxRelayWorker(runtime, manifest.outbox),
        archiveSweeper(sweep, config.ARCHIVE_SWEEP_INTERVAL_MS, runtime.logger),
      ],
      routes: (http) => registerRoutes(http, { adminToken: config.ADMIN_TOKEN, repo, sweep }),
    });
  } catch (err) {
    await runtime.close();
    throw err;
  }
}

import { Redis } from 'ioredis';
import { masterVersioned, qualityEvaluated } from '@tributary/events';
import { outboxMigrations } from '@tributary/outbox';
import {
  assembleService,
  createRuntime,
  outboxRelayWorker,
  type ServiceApp,
  type Worker,
} from '@tributary/runtime';
import { createObjectStore, type ObjectStoreOptions, s3StoreOptions } from '@tributary/storage';
import type { Config } from './config.ts';
import { ObjectArtifactStore } from './data-access/artifact-store.ts';
import { imageHorizontalFlip } from './data-access/image-flip.ts';
import { StoreMasterReader } from './data-access/master-reader.ts';
import { MasterVersionsRepository } from './data-access/master-versions-repository.ts';
import { RunsRepository } from './data-access/runs-repository.ts';
import { StoreSourceReader } from './data-access/source-reader.ts';
import { wordListToxicity } from './data-access/toxicity.ts';
import { wordDropout } from './domain/augmentation.ts';
import type { Augmentation } from './domain/ports.ts';
import { registerRoutes } from './entry-points/http/routes.ts';
import { handlers } from './entry-points/kafka/handlers/index.ts';
import { refreshRunner, staleRunRecoverer } from './entry-points/refresh-runner.ts';
import { retryPoller } from './entry-points/schedule/retry-poller.ts';
import { refreshSchedule } from './entry-points/schedule/refresh-schedule.ts';

/** Topics the quality-gate reads and writes; created at start-up if missing. */
export const TOPICS = [masterVersioned.topic, qualityEvaluated.topic];

/**
 * Wires the quality-gate without starting or listening: main.ts and the tests start it (tests may
 * read its log lines through `logDestination`).
 */
export async function buildApp(
  config: Config,
  opts: { logDestination?: NodeJS.WritableStream } = {},
): Promise<ServiceApp> {
  const runtime = await createRuntime(config, {
    migrations: [new URL('../migrations/', import.meta.url), outboxMigrations],
    topics: TOPICS,
    ...opts,
  });
  try {
    const s3: ObjectStoreOptions = s3StoreOptions(config);
    const runs = new RunsRepository(runtime.pool);
    const masters = new MasterVersionsRepository(runtime.pool);
    if (
      config.BASELINE_SEED &&
      (await runs.seedBaseline({ name: config.BASELINE_NAME, ...config.BASELINE_SEED }))
    ) {
      runtime.logger.info({ baseline: config.BASELINE_NAME }, 'baseline seeded from BASELINE_SEED');
    }
    const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2 });
    runtime.onClose(async () => {
      await redis.quit().catch(() => redis.disconnect());
    });
    runtime.readiness.set('redis', async () => {
      await redis.ping();
    });

    const augmentations: Augmentation[] = [];
    if (config.AUGMENT_TEXT_DROPOUT > 0) {
      augmentations.push(wordDropout(config.TEXT_COLUMN, config.AUGMENT_TEXT_DROPOUT));
    }
    if (config.IMAGE_COLUMN && config.AUGMENT_IMAGE_FLIP_PROBABILITY > 0) {
      augmentations.push(imageHorizontalFlip(config.IMAGE_COLUMN, config.AUGMENT_IMAGE_FLIP_PROBABILITY));
    }
    const run = refreshRunner(
      {
        settings: {
          dataset: config.REFRESH_DATASET,
          sources: config.REFRESH_SOURCES,
          schemaVersion: config.REFRESH_SCHEMA_VERSION,
          stratifyColumn: config.SAMPLE_STRATIFY_COLUMN,
          fraction: config.SAMPLE_FRACTION,
          seed: config.SAMPLE_SEED,
          textColumn: config.TEXT_COLUMN,
          baselineName: config.BASELINE_NAME,
          retryDelaysMs: config.REFRESH_RETRY_DELAYS_MS,
          thresholds: {
            minCoverage: config.GATE_MIN_COVERAGE,
            minDiversity: config.GATE_MIN_DIVERSITY,
            maxToxicity: config.GATE_MAX_TOXICITY,
            maxPsi: config.GATE_MAX_PSI,
            maxKs: config.GATE_MAX_KS,
          },
        },
        reader: new StoreSourceReader(s3),
        masters,
        masterReader: new StoreMasterReader(s3),
        store: new ObjectArtifactStore(createObjectStore(config.REFRESH_STORE_URI, s3)),
        runs,
        toxicity: wordListToxicity(),
        augmentations,
        logger: runtime.logger,
      },
      runtime.metrics,
    );

    const workers: Worker[] = [
      outboxRelayWorker(runtime, [qualityEvaluated]),
      retryPoller({
        claimDue: (limit) => runs.claimDue(limit),
        recoverStale: staleRunRecoverer(
          {
            runs,
            logger: runtime.logger,
            settings: {
              dataset: config.REFRESH_DATASET,
              baselineName: config.BASELINE_NAME,
              retryDelaysMs: config.REFRESH_RETRY_DELAYS_MS,
            },
          },
          runtime.metrics,
          config.REFRESH_STALE_AFTER_MS,
        ),
        run,
        intervalMs: config.REFRESH_RETRY_POLL_MS,
        logger: runtime.logger,
      }),
    ];
    if (config.REFRESH_SCHEDULE_ENABLED) {
      workers.push(
        refreshSchedule({
          cron: config.REFRESH_CRON,
          redis,
          keyPrefix: `tributary:refresh:${runtime.schema}:${config.REFRESH_DATASET}`,
          run,
          logger: runtime.logger,
        }),
      );
    }

    return assembleService({
      runtime,
      handlers: handlers({
        run,
        masters,
        refreshOnMasterVersioned: config.REFRESH_ON_MASTER_VERSIONED,
        masterSource: config.REFRESH_SOURCES.some((s) => s.master === true),
        dataset: config.REFRESH_DATASET,
      }),
      workers,
      routes: (http) =>
        registerRoutes(http, { adminToken: config.ADMIN_TOKEN, dataset: config.REFRESH_DATASET, runs, run }),
    });
  } catch (err) {
    await runtime.close();
    throw err;
  }
}

import { JobQueue } from '@tributary/jobs';
import { createRedis, verifyRedis } from '@tributary/lock';
import type { RefreshJob } from '@tributary/catalog';
import { outboxMigrations } from '@tributary/outbox';
import {
  assembleService,
  createRuntime,
  jobWorker,
  outboxRelayWorker,
  type ServiceApp,
  type Worker,
} from '@tributary/runtime';
import { createObjectStore, type ObjectStoreOptions, s3StoreOptions } from '@tributary/storage';
import { envRefreshJob, type Config } from './config.ts';
import { manifest } from './manifest.ts';
import { ObjectArtifactStore } from './data-access/artifact-store.ts';
import { BaselinesRepository } from './data-access/baselines-repository.ts';
import { refreshEngines } from './data-access/engines.ts';
import { imageHorizontalFlip } from './data-access/image-flip.ts';
import { StoreMasterReader } from './data-access/master-reader.ts';
import { MasterVersionsRepository } from './data-access/master-versions-repository.ts';
import { PolledRunCancellations } from './data-access/run-cancellations.ts';
import { RunsRepository } from './data-access/runs-repository.ts';
import { wordListToxicity } from './data-access/toxicity.ts';
import type { Augmentation, JobSettings } from './domain/ports.ts';
import { RefreshJobs } from './domain/refresh-jobs.ts';
import { registerRoutes } from './entry-points/http/routes.ts';
import { handlers } from './entry-points/kafka/handlers/index.ts';
import { refreshRunner, staleRunRecoverer } from './entry-points/refresh-runner.ts';
import {
  REFRESH_RETRY_JOB,
  defineRefreshRetry,
  parkedRunJob,
} from './entry-points/jobs/refresh-retry.job.ts';
import { refreshSchedule } from './entry-points/schedule/refresh-schedule.ts';
import { staleRunRecovery } from './entry-points/schedule/stale-run-recovery.ts';

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
    topics: manifest.topics,
    ...opts,
  });
  try {
    const s3: ObjectStoreOptions = s3StoreOptions(config);
    const jobQueue = new JobQueue({
      pool: runtime.pool,
      schema: runtime.schema,
      logger: runtime.logger,
      superviseMs: config.REFRESH_RETRY_POLL_MS,
    });
    // A parked run's retry is a job sent in the transaction that parks it.
    const runs = new RunsRepository(runtime.pool, {
      parkRetry: (tx, parked) => {
        const { data, startAfter, traceparent } = parkedRunJob(parked);
        return retry.send(data, { tx, startAfter, traceparent });
      },
    });
    const baselines = new BaselinesRepository(runtime.pool);
    const masters = new MasterVersionsRepository(runtime.pool);
    const { logger } = runtime;
    const envJob = envRefreshJob(config);
    const jobs = new RefreshJobs(runtime.catalog, envJob, logger);
    if (envJob) {
      // The old settings still work, as one implicit job, until a declared job takes its name.
      logger.warn(
        {
          job: envJob.job.name,
          file: `datasets/${envJob.dataset}.yaml`,
          shadowed: jobs.envJobShadowed(),
        },
        jobs.envJobShadowed()
          ? `refresh job ${envJob.job.name} is declared in the catalog: the REFRESH_*/SAMPLE_*/GATE_*/BASELINE_* settings are ignored; remove them`
          : `the REFRESH_*/SAMPLE_*/GATE_*/BASELINE_* settings are deprecated: declare them as a refresh_jobs: entry named ${envJob.job.name} in datasets/${envJob.dataset}.yaml and apply it (docs/onboarding.md, "Moving from the old environment settings")`,
      );
    }

    // Each job's baseline.seed is stored when its baseline does not exist: at start, when the
    // catalog changes, and before each run (a job declared a moment ago).
    const seedBaseline = async (job: JobSettings) => {
      const seed = job.spec.baseline.seed;
      if (!seed) return;
      const actor =
        job.origin === 'env'
          ? 'env BASELINE_SEED'
          : `catalog ${job.dataset} refresh_jobs.${job.job} (revision ${String(job.catalogRevision)})`;
      if (await baselines.seed({ name: job.spec.baseline.name, ...seed }, { actor, tokenName: null })) {
        logger.info({ baseline: job.spec.baseline.name, job: job.job, actor }, 'baseline seeded');
      }
    };
    const seedAll = async () => {
      for (const job of jobs.all()) await seedBaseline(job);
    };
    await seedAll();
    runtime.catalog.onChange(() => {
      seedAll().catch((err: unknown) => logger.warn({ err }, 'baselines of the refresh jobs not seeded'));
    });

    const redis = createRedis(config.REDIS_URL, {
      tlsCaFile: config.REDIS_TLS_CA_FILE,
      password: config.REDIS_PASSWORD,
      maxRetriesPerRequest: 2,
    });
    runtime.onClose(async () => {
      await redis.quit().catch(() => redis.disconnect());
    });
    // A refused Redis password or certificate stops the start here, naming the setting.
    await verifyRedis(redis, { url: config.REDIS_URL, urlSetting: 'REDIS_URL' });
    runtime.readiness.set('redis', async () => {
      await redis.ping();
    });

    // Word dropout of the text column is the engines' own (text_dropout); these are the pluggable
    // ones: the SQL expressions in their declared order, then the image flip.
    const augmentationsFor = (spec: RefreshJob): Augmentation[] => {
      const { image_column, image_flip_probability, sql } = spec.augmentation;
      const list: Augmentation[] = sql.map((a) => ({ kind: 'sql' as const, ...a }));
      if (image_column && image_flip_probability > 0) {
        list.push(imageHorizontalFlip(image_column, image_flip_probability));
      }
      return list;
    };
    const cancellations = new PolledRunCancellations(runs, config.REFRESH_CANCEL_POLL_MS, logger);
    const artifacts = new ObjectArtifactStore(createObjectStore(config.REFRESH_STORE_URI, s3));
    const run = refreshRunner(
      {
        jobs,
        augmentationsFor,
        seedBaseline,
        engineFor: refreshEngines(config, s3),
        masters,
        masterReader: new StoreMasterReader(s3),
        store: artifacts,
        runs,
        cancellations,
        toxicity: wordListToxicity(),
        logger,
      },
      runtime.metrics,
    );

    const retry = defineRefreshRetry(jobQueue, {
      claimRetry: (datasetVersion, attempt) => runs.claimRetry(datasetVersion, attempt),
      run,
      logger,
      leaseMs: config.REFRESH_STALE_AFTER_MS,
    });
    // Runs an older release parked (its poller read refresh_runs) get their job; a duplicate job
    // finds its run taken and does nothing.
    const handOver = async () => {
      const scheduled = new Set(
        (await jobQueue.unfinished<{ datasetVersion: string; attempt: number }>(REFRESH_RETRY_JOB)).map(
          (j) => `${j.data.datasetVersion}/${j.data.attempt}`,
        ),
      );
      let handed = 0;
      for (const parked of await runs.parked()) {
        if (scheduled.has(`${parked.datasetVersion}/${parked.attempt}`)) continue;
        const { data, startAfter, traceparent } = parkedRunJob(parked);
        await retry.send(data, { startAfter, traceparent });
        handed += 1;
      }
      if (handed > 0) logger.info({ handed }, 'parked runs of the retry poller handed to jobs');
    };

    const workers: Worker[] = [
      outboxRelayWorker(runtime, manifest.outbox),
      jobWorker(jobQueue, { intervalMs: config.REFRESH_RETRY_POLL_MS, logger, afterStart: handOver }),
      staleRunRecovery({
        recoverStale: staleRunRecoverer(
          { runs, jobs, logger },
          runtime.metrics,
          config.REFRESH_STALE_AFTER_MS,
        ),
        intervalMs: config.REFRESH_RETRY_POLL_MS,
        logger,
      }),
    ];
    if (config.REFRESH_SCHEDULE_ENABLED) {
      workers.push(
        refreshSchedule({
          schedules: () =>
            jobs
              .all()
              .flatMap((j) => (j.spec.schedule === null ? [] : [{ job: j.job, cron: j.spec.schedule }])),
          onChange: (listener) => runtime.catalog.onChange(listener),
          redis,
          keyPrefix: `tributary:refresh:${runtime.schema}`,
          run,
          logger,
        }),
      );
    }

    return assembleService({
      manifest,
      runtime,
      area: 'QG',
      handlers: handlers({ run, masters, jobs }),
      workers,
      routes: (http) =>
        registerRoutes(http, {
          adminToken: config.ADMIN_TOKEN,
          tokenName: config.ADMIN_TOKEN_NAME,
          jobs,
          runs,
          baselines,
          run,
          cancellations,
          artifacts,
          logger,
        }),
    });
  } catch (err) {
    await runtime.close();
    throw err;
  }
}

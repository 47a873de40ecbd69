import { fileURLToPath } from 'node:url';
import { CatalogStore, publishContractsDir } from '@tributary/catalog';
import { outboxMigrations } from '@tributary/outbox';
import {
  assembleService,
  createRuntime,
  outboxRelayWorker,
  type ServiceApp,
  type Worker,
} from '@tributary/runtime';
import type { Config } from './config.ts';
import { manifest } from './manifest.ts';
import { PgBatchRepository } from './data-access/batch-repository.ts';

import { FsLandingZone } from './data-access/landing-zone.ts';
import { ObjectRawStore } from './data-access/raw-store.ts';
import { UriSourceFiles } from './data-access/source-files.ts';
import { openStores } from './data-access/stores.ts';
import { StagedUploads } from './data-access/staged-uploads.ts';
import { UPLOAD_STAGING_PREFIX, UploadStaging } from './data-access/upload-staging.ts';
import type { IngestDeps } from './domain/ingest-batch.ts';
import { registerRoutes } from './entry-points/http/routes.ts';
import { handlers } from './entry-points/kafka/handlers/index.ts';
import { LandingWatcher } from './entry-points/landing/landing-watcher.ts';

/** Wires the ingestor without starting or listening: main.ts and the tests start it. */
export async function buildApp(
  config: Config,
  opts: { logDestination?: NodeJS.WritableStream } = {},
): Promise<ServiceApp> {
  const runtime = await createRuntime(config, {
    migrations: [outboxMigrations, new URL('../migrations/', import.meta.url)],
    topics: manifest.topics,
    ...(opts.logDestination ? { logDestination: opts.logDestination } : {}),
  });
  const stores = openStores(config);
  runtime.readiness.set('data-store', async () => {
    await stores.data.exists('raw/.readiness');
  });
  const batches = new PgBatchRepository(runtime.pool, config.INGEST_TAKEOVER_AFTER_MS);
  const stagedUploads = new StagedUploads(runtime.pool);
  // The catalog's admin API is served here; a dataset the ingestor holds batches of is removed only with force.
  const catalogStore = new CatalogStore({
    pool: runtime.pool,
    schema: config.CATALOG_SCHEMA,
    hasData: (dataset) => batches.hasBatches(dataset),
  });
  // Contracts are read from the catalog only; CONTRACTS_DIR is published into it (new versions only).
  try {
    await publishContractsDir(catalogStore, config.CONTRACTS_DIR, {
      actor: `bootstrap:${runtime.serviceName}`,
      logger: runtime.logger,
    });
  } catch (err) {
    await runtime.close();
    throw err;
  }
  const catalog = runtime.catalog;
  const allowedRoots = [
    ...(config.SOURCE_FILE_ROOTS ?? []),
    ...(config.LANDING_DIR === undefined ? [] : [config.LANDING_DIR]),
    ...(stores.data.uri.startsWith('file:') ? [fileURLToPath(stores.data.uri)] : []),
  ];
  const ingest: IngestDeps = {
    batches,
    catalog,
    acceptUndeclared: config.ACCEPT_UNDECLARED_DATASETS,
    sources: new UriSourceFiles({
      allowedRoots,
      s3: stores.options,
      workRoot: config.INGEST_WORK_DIR,
      dataStore: stores.data,
      stagingPrefix: UPLOAD_STAGING_PREFIX,
      stagedUploads,
    }),
    raw: new ObjectRawStore(stores.data, stores.dvcRemote, config.INGEST_FILE_CONCURRENCY),
    concurrency: config.INGEST_FILE_CONCURRENCY,
  };

  const workers: Worker[] = [outboxRelayWorker(runtime, manifest.outbox, { pollMs: config.OUTBOX_POLL_MS })];
  if (config.LANDING_DIR !== undefined) {
    const zone = new FsLandingZone(config.LANDING_DIR);
    workers.push(
      new LandingWatcher({
        zone,
        deps: {
          landing: zone,
          batches,
          catalog,
          defaults: {
            contractVersion: config.LANDING_DEFAULT_CONTRACT_VERSION,
            producer: config.LANDING_DEFAULT_PRODUCER,
          },
          deleteIngestedFiles: config.LANDING_DELETE_FILES,
        },
        logger: runtime.logger.child({ worker: 'landing-watcher' }),
        scanIntervalMs: config.LANDING_SCAN_INTERVAL_MS,
        claimTimeoutMs: config.LANDING_CLAIM_TIMEOUT_MS,
      }),
    );
  }

  return assembleService({
    manifest,
    runtime,
    area: 'ING',
    handlers: handlers(ingest, runtime.metrics),
    workers,
    routes: (http) =>
      registerRoutes(http, {
        batches,
        staging: new UploadStaging(stores.data, stagedUploads),
        catalog,
        limits: {
          maxFileBytes: config.UPLOAD_MAX_FILE_BYTES,
          maxBatchBytes: config.UPLOAD_MAX_BATCH_BYTES,
          maxFiles: config.UPLOAD_MAX_FILES,
        },
        logger: runtime.logger,
        admin: { token: config.ADMIN_TOKEN, tokenName: config.ADMIN_TOKEN_NAME, catalogStore },
      }),
  });
}

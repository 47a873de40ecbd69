import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { publishContractsDir } from '@tributary/catalog';
import type { DataContract } from '@tributary/contracts';
import { hashFile } from '@tributary/dvc';
import { eventTime, newEventId } from '@tributary/events';
import { MasterLock } from '@tributary/lock';
import { outboxMigrations } from '@tributary/outbox';
import type { Pool } from '@tributary/db';
import { assembleService, createRuntime, outboxRelayWorker, type ServiceApp } from '@tributary/runtime';
import type { Registry } from '@tributary/telemetry';
import { createObjectStore, s3StoreOptions } from '@tributary/storage';
import type { Config } from './config.ts';
import { manifest } from './manifest.ts';
import { ObjectDataStore } from './data-access/data-store.ts';
import { SharpImageProcessor } from './data-access/images.ts';
import { lineageSources } from './data-access/lineage-sources.ts';
import { PgMasterRepository } from './data-access/master-repository.ts';
import { MasterVersionsReader } from './data-access/master-versions.ts';
import { RejectionReports } from './data-access/rejection-reports.ts';
import { localScratchSpace } from './data-access/scratch-space.ts';
import { uploadStore } from './data-access/upload-store.ts';
import { DuckTablesEngine } from './data-access/tables.ts';
import { dryRunBatch, type DryRunCatalog, type DryRunInput, type DryRunReport } from './domain/dry-run.ts';
import { ProcessBatch } from './domain/process-batch.ts';
import { registerRoutes } from './entry-points/http/routes.ts';
import { handlers } from './entry-points/kafka/handlers/index.ts';
import { faultInjector } from './fault-injection.ts';

/** Wires the preprocessor without starting or listening: main.ts and the tests start it. */
export async function buildApp(config: Config): Promise<ServiceApp> {
  const runtime = await createRuntime(config, {
    migrations: [outboxMigrations, new URL('../migrations/', import.meta.url)],
    topics: manifest.topics,
  });
  try {
    // Contracts are read from the catalog only; CONTRACTS_DIR is published into it (new versions only).
    await publishContractsDir(runtime.catalogStore, config.CONTRACTS_DIR, {
      actor: `bootstrap:${runtime.serviceName}`,
      logger: runtime.logger,
    });
    const { processBatch, dryRun, lock, store, close } = await createProcessBatch(config, {
      pool: runtime.pool,
      topicPrefix: runtime.topicPrefix,
      metricsRegistry: runtime.metrics.registry,
      contract: (name, version) => runtime.catalog.contract(name, version),
      dataset: async (name) => {
        // A dry run right after `tributary datasets apply` sees what was applied.
        await runtime.catalog.reload();
        return runtime.catalog.dataset(name);
      },
    });
    runtime.onClose(close);
    // A refused Redis password or certificate stops the start here, naming the setting.
    await lock.verify(config.REDIS_URLS ? 'REDIS_URLS' : 'REDIS_URL');
    runtime.readiness.set('redis', () => lock.ping());

    return assembleService({
      manifest,
      runtime,
      area: 'PRE',
      handlers: handlers({ processBatch, metrics: runtime.metrics }),
      workers: [outboxRelayWorker(runtime, manifest.outbox, { pollMs: config.OUTBOX_POLL_MS })],
      routes: (http) =>
        registerRoutes(http, {
          pool: runtime.pool,
          adminToken: config.ADMIN_TOKEN,
          lineageSources: lineageSources(config, new MasterVersionsReader(runtime.pool)),
          reports: new RejectionReports(runtime.pool, store),
          validate: {
            dryRun,
            workDir: config.WORK_DIR,
            maxBytes: config.DRY_RUN_MAX_BYTES,
            maxFiles: config.DRY_RUN_MAX_FILES,
          },
        }),
    });
  } catch (err) {
    await runtime.close();
    throw err;
  }
}

/**
 * The batch use case with its adapters (object store, master lock, DuckDB, images, Postgres):
 * what the Kafka handler calls, and what the benchmark drives without Kafka. `contract` reads a
 * published contract: the service passes its catalog's.
 */
export async function createProcessBatch(
  config: Config,
  deps: {
    pool: Pool;
    topicPrefix: string;
    metricsRegistry?: Registry;
    contract: (name: string, version: string) => Promise<DataContract>;
    /** A dataset's declaration (dry runs: the current contract, the accepted versions). */
    dataset?: DryRunCatalog['dataset'];
  },
): Promise<{
  processBatch: ProcessBatch;
  dryRun: (input: DryRunInput, workDir: string) => Promise<DryRunReport>;
  lock: MasterLock;
  /** The data store (raw batches, parts, reports), for the admin routes that read reports. */
  store: ObjectDataStore;
  close: () => Promise<void>;
}> {
  const store = new ObjectDataStore(createObjectStore(config.DATA_STORE_URI, s3StoreOptions(config)));
  const lock = new MasterLock({
    redisUrls: [...(config.REDIS_URLS ?? [config.REDIS_URL])],
    tlsCaFile: config.REDIS_TLS_CA_FILE,
    password: config.REDIS_PASSWORD,
    ttlMs: config.LOCK_TTL_MS,
    maxWaitMs: config.LOCK_MAX_WAIT_MS,
    ...(deps.metricsRegistry ? { metricsRegistry: deps.metricsRegistry } : {}),
  });
  const tables = await DuckTablesEngine.create({
    threads: config.DUCKDB_THREADS,
    memoryLimit: config.DUCKDB_MEMORY_LIMIT,
    tempDir: config.WORK_DIR,
  });

  const images = new SharpImageProcessor();
  const imageCeilings = { maxBytes: config.IMAGE_MAX_BYTES, maxPixels: config.IMAGE_MAX_PIXELS };
  const processBatch = new ProcessBatch({
    store,
    repo: new PgMasterRepository(deps.pool, deps.topicPrefix),
    tables,
    lock,
    images,
    imageCeilings,
    imageConcurrency: config.IMAGE_CONCURRENCY,
    loadContract: deps.contract,
    compaction: {
      fanout: config.COMPACTION_FANOUT,
      baseRows: config.COMPACTION_BASE_ROWS,
      maxPartRows: config.COMPACTION_MAX_PART_ROWS,
    },
    orphanGraceMs: config.ORPHAN_GRACE_MS,
    hashFile,
    faultPoint: faultInjector(config.FAULT_INJECT),
    newEventId,
    now: () => new Date(eventTime()),
    scratch: localScratchSpace(config.WORK_DIR),
    yieldNow: () => yieldToEventLoop(),
  });

  // The same validation on an upload: same table engine, image adapter, ceilings and catalog.
  const dryRun = (input: DryRunInput, workDir: string) =>
    dryRunBatch(
      {
        tables,
        images,
        imageCeilings,
        imageConcurrency: config.IMAGE_CONCURRENCY,
        yieldNow: () => yieldToEventLoop(),
        catalog: {
          dataset: deps.dataset ?? (() => Promise.resolve(undefined)),
          contract: deps.contract,
        },
        uploadStore,
      },
      input,
      workDir,
    );

  return {
    processBatch,
    dryRun,
    lock,
    store,
    close: async () => {
      await tables.close();
      await lock.close();
    },
  };
}

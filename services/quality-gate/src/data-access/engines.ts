import type { RefreshJob } from '@tributary/catalog';
import { AppError } from '@tributary/errors';
import { createObjectStore, type ObjectStoreOptions } from '@tributary/storage';
import type { Config } from '../config.ts';
import type { RefreshEngine } from '../domain/ports.ts';
import { DuckDbEngine } from './duckdb-engine.ts';
import { RayEngine } from './ray-engine.ts';

/** The engines of the deployment, by the `engine` a refresh job declares. */
export function refreshEngines(config: Config, s3: ObjectStoreOptions): (spec: RefreshJob) => RefreshEngine {
  const store = createObjectStore(config.REFRESH_STORE_URI, s3);
  const duckdb = new DuckDbEngine({
    s3,
    store,
    scratchDir: config.REFRESH_SCRATCH_DIR,
    memoryLimit: config.REFRESH_ENGINE_MEMORY_LIMIT,
    threads: config.REFRESH_ENGINE_THREADS,
    batchRows: config.REFRESH_ENGINE_BATCH_ROWS,
    toxicityMaxTexts: config.REFRESH_TOXICITY_MAX_TEXTS,
  });
  const ray: RefreshEngine = config.RAY_ADDRESS
    ? new RayEngine({
        address: config.RAY_ADDRESS,
        store,
        s3: { endpoint_url: config.S3_ENDPOINT ?? null, region: config.S3_REGION },
        embedded: duckdb,
        python: config.RAY_JOB_PYTHON,
        pollMs: config.RAY_POLL_MS,
      })
    : {
        name: 'ray',
        open: () =>
          Promise.reject(
            new AppError(
              'QG_ERR_ENGINE_UNAVAILABLE',
              'the refresh job declares engine: ray, but this deployment has no Ray cluster (RAY_ADDRESS is not set)',
            ),
          ),
      };
  return (spec) => (spec.engine === 'ray' ? ray : duckdb);
}

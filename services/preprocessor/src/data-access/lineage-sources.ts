import { httpLineageSources, type LineageSources } from '@tributary/lineage';
import type { Config } from '../config.ts';
import type { MasterVersionsReader } from './master-versions.ts';

/**
 * Where the lineage API reads a chain: master versions from this service's own tables, every
 * other link from the owning service's API (with the fleet's admin token).
 */
export function lineageSources(config: Config, versions: MasterVersionsReader): LineageSources {
  return httpLineageSources(
    {
      ingestor: config.LINEAGE_INGESTOR_URL,
      qualityGate: config.LINEAGE_QUALITY_GATE_URL,
      publisher: config.LINEAGE_PUBLISHER_URL,
      retrainPolicy: config.LINEAGE_RETRAIN_POLICY_URL,
    },
    {
      async masterVersionOfBatch(dataset, batchId) {
        // Newest first, so the last one is the version that merged the batch.
        const merged = (await versions.list(dataset, { batchId, limit: 500 })).at(-1);
        return merged ? { value: merged } : { missing: true };
      },
      async masterVersion(dataset, version) {
        const view = await versions.get(dataset, version);
        return view ? { value: view } : { missing: true };
      },
    },
    { token: config.ADMIN_TOKEN, timeoutMs: config.LINEAGE_TIMEOUT_MS },
  );
}

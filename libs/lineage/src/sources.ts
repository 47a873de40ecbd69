/**
 * Where lineage reads each part of a chain. `httpLineageSources` asks each service's own API, so
 * every service stays the only owner of its data; the master versions come from the caller (the
 * preprocessor, which owns them and answers the lineage API).
 */
import type {
  Answer,
  BatchFact,
  CatalogFact,
  DecisionFact,
  MasterVersionFact,
  QualityRunFact,
} from './facts.ts';

export interface LineageSources {
  batch(batchId: string): Promise<Answer<BatchFact>>;
  /** The version that merged a batch: the oldest one holding it. */
  masterVersionOfBatch(dataset: string, batchId: string): Promise<Answer<MasterVersionFact>>;
  masterVersion(dataset: string, version: number): Promise<Answer<MasterVersionFact>>;
  /**
   * The most recent refresh runs (the quality-gate keeps one per dataset version); every run of one
   * master version of a dataset when given (whatever the number of later runs).
   */
  qualityRuns(of?: { dataset: string; masterVersion: number }): Promise<Answer<QualityRunFact[]>>;
  /** The most recent catalog entries, of one dataset when given, of one of its master versions when given. */
  catalog(dataset: string | undefined, masterVersion?: number): Promise<Answer<CatalogFact[]>>;
  decisions(dataset: string, masterVersion: number): Promise<Answer<DecisionFact[]>>;
}

export interface ServiceUrls {
  ingestor: string;
  qualityGate: string;
  publisher: string;
  retrainPolicy: string;
}

/** How many quality runs and catalog entries are read to find the ones of a chain. */
export const SCAN_LIMIT = 500;

/** GET a service's API: 404 is "missing"; any other failure is "unavailable", never thrown. */
export async function readJson<T>(
  url: string,
  opts: { token?: string | undefined; timeoutMs: number },
): Promise<Answer<T>> {
  try {
    const res = await fetch(url, {
      headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    if (res.status === 404) return { missing: true };
    const text = await res.text();
    if (!res.ok) return { unavailable: `GET ${url} answered ${res.status}: ${text.slice(0, 200)}` };
    return { value: JSON.parse(text) as T };
  } catch (err) {
    return { unavailable: `GET ${url} failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

export function mapAnswer<T, U>(answer: Answer<T>, f: (t: T) => U): Answer<U> {
  return 'value' in answer ? { value: f(answer.value) } : answer;
}

/** Reads the other parts from the services' HTTP APIs (admin APIs get the bearer token). */
export function httpLineageSources(
  urls: ServiceUrls,
  masters: Pick<LineageSources, 'masterVersion' | 'masterVersionOfBatch'>,
  opts: { token?: string | undefined; timeoutMs?: number } = {},
): LineageSources {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const enc = encodeURIComponent;
  const get = <T>(base: string, path: string, admin = false) =>
    readJson<T>(`${base.replace(/\/$/, '')}${path}`, { timeoutMs, token: admin ? opts.token : undefined });

  return {
    batch: (batchId) => get<BatchFact>(urls.ingestor, `/batches/${enc(batchId)}`),
    masterVersionOfBatch: (dataset, batchId) => masters.masterVersionOfBatch(dataset, batchId),
    masterVersion: (dataset, version) => masters.masterVersion(dataset, version),
    async qualityRuns(of) {
      const filter = of ? `&dataset=${enc(of.dataset)}&master_version=${of.masterVersion}` : '';
      const runs = await get<{ runs: QualityRunFact[] }>(
        urls.qualityGate,
        `/admin/runs?limit=${SCAN_LIMIT}${filter}`,
        true,
      );
      return mapAnswer(runs, (r) => r.runs);
    },
    async catalog(dataset, masterVersion) {
      const path =
        `/admin/catalog?limit=${SCAN_LIMIT}${dataset ? `&dataset=${enc(dataset)}` : ''}` +
        (dataset && masterVersion !== undefined ? `&master_version=${masterVersion}` : '');
      return mapAnswer(await get<{ datasets: CatalogFact[] }>(urls.publisher, path, true), (c) => c.datasets);
    },
    async decisions(dataset, masterVersion) {
      const path = `/admin/decisions?dataset=${enc(dataset)}&master_version=${masterVersion}`;
      return mapAnswer(
        await get<{ decisions: DecisionFact[] }>(urls.retrainPolicy, path, true),
        (d) => d.decisions,
      );
    },
  };
}

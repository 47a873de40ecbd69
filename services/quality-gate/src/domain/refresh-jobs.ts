import type { DeclaredRefreshJob, RefreshJob } from '@tributary/catalog';
import type { Logger } from '@tributary/telemetry';
import type { JobSettings } from './ports.ts';
import type { RefreshSettings } from './refresh-dataset.ts';

/** What the gate reads of the catalog: the declared refresh jobs, kept current by the runtime. */
export interface JobCatalog {
  /** Revision of the declarations last loaded. */
  readonly revision: number;
  refreshJobs(): DeclaredRefreshJob[];
  /** Loads the declarations again if the catalog's revision moved. */
  reload(): Promise<void>;
}

/**
 * The refresh jobs this deployment runs: every job declared in the catalog, and the implicit job of
 * the old environment settings while no declared job has its name. `all()` and `find()` read the
 * declarations as last loaded (the schedule, the stale-run check); `current()` and `refreshed()`
 * first check the catalog for a newer revision, so that a run reads its job's settings as they are
 * at its start.
 */
export class RefreshJobs {
  private readonly catalog: JobCatalog;
  private readonly envJob: { dataset: string; job: RefreshJob } | undefined;
  private readonly logger: Logger;
  constructor(catalog: JobCatalog, envJob: { dataset: string; job: RefreshJob } | undefined, logger: Logger) {
    this.catalog = catalog;
    this.envJob = envJob;
    this.logger = logger;
  }

  all(): JobSettings[] {
    const revision = this.catalog.revision;
    const jobs: JobSettings[] = this.catalog.refreshJobs().map(({ dataset, job }) => ({
      job: job.name,
      dataset: dataset.name,
      spec: job,
      origin: 'catalog',
      catalogRevision: revision,
    }));
    const env = this.envJob;
    if (env && !jobs.some((j) => j.job === env.job.name)) {
      jobs.push({
        job: env.job.name,
        dataset: env.dataset,
        spec: env.job,
        origin: 'env',
        catalogRevision: null,
      });
    }
    return jobs;
  }

  find(name: string): JobSettings | undefined {
    return this.all().find((j) => j.job === name);
  }

  /** The job `name` as declared now (the catalog checked first), or undefined when none has the name. */
  async current(name: string): Promise<JobSettings | undefined> {
    await this.reload();
    return this.find(name);
  }

  /** Every job as declared now. */
  async refreshed(): Promise<JobSettings[]> {
    await this.reload();
    return this.all();
  }

  /** True when a declared job has the name of the env job, whose settings are then not used. */
  envJobShadowed(): boolean {
    const env = this.envJob;
    return env !== undefined && this.catalog.refreshJobs().some((j) => j.job.name === env.job.name);
  }

  private async reload(): Promise<void> {
    await this.catalog.reload().catch((err: unknown) => {
      this.logger.warn({ err }, 'catalog not reloaded: the refresh jobs as last loaded are used');
    });
  }
}

/** A job's spec as a run records it: without the baseline seed (only used to create the baseline). */
export function recordedSpec(spec: RefreshJob): RefreshJob {
  const { seed: _seed, ...baseline } = spec.baseline;
  return { ...spec, baseline };
}

/** What one run of a job uses, from the job's settings. */
export function runSettings(settings: JobSettings): RefreshSettings {
  const { spec } = settings;
  return {
    job: settings.job,
    dataset: settings.dataset,
    sources: spec.sources,
    schemaVersion: spec.schema_version,
    stratifyColumn: spec.sampling.stratify_column,
    fraction: spec.sampling.fraction,
    seed: spec.sampling.seed,
    textColumn: spec.text_column,
    textDropout: spec.text_column === null ? 0 : spec.augmentation.text_dropout,
    engine: spec.engine,
    engineTimeoutMs: spec.engine_timeout,
    baselineName: spec.baseline.name,
    thresholds: {
      minCoverage: spec.gate.min_coverage,
      minDiversity: spec.gate.min_diversity,
      maxToxicity: spec.gate.max_toxicity,
      maxPsi: spec.gate.max_psi,
      maxKs: spec.gate.max_ks,
    },
    retryDelaysMs: spec.retry_delays,
    origin: {
      kind: settings.origin,
      catalogRevision: settings.catalogRevision,
      spec: recordedSpec(spec),
    },
  };
}

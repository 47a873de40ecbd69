import type { DataContract } from '@tributary/contracts';
import { AppError } from '@tributary/errors';
import type { Logger } from '@tributary/telemetry';
import type { DatasetDeclaration, RefreshJob } from './declaration.ts';
import type { CatalogStore } from './store.ts';

/** A refresh job with the dataset that declares it. */
export interface DeclaredRefreshJob {
  dataset: DatasetDeclaration;
  job: RefreshJob;
}

export interface CatalogOptions {
  store: CatalogStore;
  logger: Logger;
  /** How often the catalog revision is checked; a change reloads the declarations. */
  refreshMs: number;
}

/**
 * What a running service reads of the catalog: the applied declarations, kept in memory and
 * reloaded when the catalog's revision moves (checked every `refreshMs`), so a change reaches the
 * service within seconds without a restart. A name missing from memory is looked up again at once
 * (a dataset declared a moment ago), and contracts, which never change, are read through.
 */
export class Catalog {
  private snapshot = new Map<string, DatasetDeclaration>();
  private loadedRevision = -1;
  private reloading: Promise<void> | undefined;
  private readonly contractCache = new Map<string, DataContract>();
  private readonly listeners: ((revision: number) => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly opts: CatalogOptions;

  constructor(opts: CatalogOptions) {
    this.opts = opts;
  }

  get revision(): number {
    return this.loadedRevision;
  }

  /** Loads the declarations and starts watching the revision. */
  async start(): Promise<void> {
    await this.reload();
    this.timer = setInterval(() => {
      this.reload().catch((err: unknown) =>
        this.opts.logger.warn({ err }, 'catalog not reloaded; the last declarations stay in force'),
      );
    }, this.opts.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Called after each reload that changed the revision (the quality-gate reschedules its jobs). */
  onChange(listener: (revision: number) => void): void {
    this.listeners.push(listener);
  }

  /** The declaration of `name`, or undefined when it is not declared. */
  async dataset(name: string): Promise<DatasetDeclaration | undefined> {
    const known = this.snapshot.get(name);
    if (known) return known;
    await this.reload();
    return this.snapshot.get(name);
  }

  /** Every declaration as last loaded. */
  datasets(): DatasetDeclaration[] {
    return [...this.snapshot.values()];
  }

  /** Every refresh job of every declared dataset. */
  refreshJobs(): DeclaredRefreshJob[] {
    return this.datasets().flatMap((dataset) => dataset.refresh_jobs.map((job) => ({ dataset, job })));
  }

  /** The refresh job building evaluation set `name`, with its dataset. */
  async refreshJob(name: string): Promise<DeclaredRefreshJob | undefined> {
    const find = () => this.refreshJobs().find((j) => j.job.name === name);
    const known = find();
    if (known) return known;
    await this.reload();
    return find();
  }

  /**
   * The published contract `name@version`. Unknown is a non-retriable CONTRACT_ERR_UNKNOWN (the
   * batch is rejected); a database failure is retriable.
   */
  async contract(name: string, version: string): Promise<DataContract> {
    const key = `${name}@${version}`;
    const cached = this.contractCache.get(key);
    if (cached) return cached;
    const published = await this.opts.store.contract(name, version).catch((err: unknown) => {
      throw new AppError('CATALOG_ERR_UNAVAILABLE', `catalog not readable: ${String(err)}`, {
        cause: err,
      });
    });
    if (!published) {
      throw new AppError(
        'CONTRACT_ERR_UNKNOWN',
        `Unknown data contract ${key}: it is not published in the catalog`,
        {
          details: { name, version },
        },
      );
    }
    this.contractCache.set(key, published.body);
    return published.body;
  }

  /** Reloads when the revision moved; concurrent callers share one reload. */
  async reload(): Promise<void> {
    this.reloading ??= this.load().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  private async load(): Promise<void> {
    const revision = await this.opts.store.revision();
    if (revision === this.loadedRevision) return;
    const stored = await this.opts.store.datasets();
    this.snapshot = new Map(stored.map((d) => [d.name, d.spec]));
    const first = this.loadedRevision === -1;
    this.loadedRevision = revision;
    if (!first) this.opts.logger.info({ revision, datasets: stored.length }, 'catalog reloaded');
    for (const listener of this.listeners) listener(revision);
  }
}

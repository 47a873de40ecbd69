import type { DatasetDeclaration, RetrainPolicyDeclaration } from '@tributary/catalog';
import { AppError, isAppError } from '@tributary/errors';
import type { DatasetPolicies, PolicyCatalog, RetrainPolicy, ThresholdStore } from '../domain/ports.ts';

/** What the retrain-policy reads of the runtime's catalog (the runtime's `Catalog` is one). */
export interface DeclarationSource {
  /** Loads the declarations again if the catalog changed since. */
  reload(): Promise<void>;
  dataset(name: string): Promise<DatasetDeclaration | undefined>;
  /** Revision of the declarations in memory. */
  readonly revision: number;
}

/** The implicit env policy (MLFLOW_MODEL_NAME and friends) without its threshold, a runtime setting. */
export type ImplicitPolicy = Omit<RetrainPolicy, 'source' | 'thresholdRows'>;

/**
 * The retrain policies of a dataset: those of its declaration in the catalog when it is declared
 * (and only those), else the implicit env policy when the deployment still has one, with the
 * threshold of the RETRAIN_THRESHOLD_ROWS runtime setting.
 *
 * The catalog is brought up to date (one revision query) before each read, so a declaration applied
 * a moment ago, or a changed threshold, already applies to the next master version.
 */
export class CatalogPolicies implements PolicyCatalog {
  private readonly opts: {
    catalog: DeclarationSource;
    implicit: ImplicitPolicy | undefined;
    thresholds: ThresholdStore;
  };
  constructor(opts: {
    catalog: DeclarationSource;
    implicit: ImplicitPolicy | undefined;
    thresholds: ThresholdStore;
  }) {
    this.opts = opts;
  }

  async policiesFor(dataset: string): Promise<DatasetPolicies> {
    const { catalog, implicit } = this.opts;
    let declaration: DatasetDeclaration | undefined;
    try {
      await catalog.reload();
      declaration = await catalog.dataset(dataset);
    } catch (err) {
      if (isAppError(err)) throw err;
      throw new AppError('CATALOG_ERR_UNAVAILABLE', `dataset catalog not readable: ${String(err)}`, {
        cause: err,
      });
    }
    const catalogRevision = catalog.revision;
    if (declaration) {
      return {
        kind: 'declared',
        policies: declaration.retrain_policies.map(fromDeclaration),
        catalogRevision,
      };
    }
    if (!implicit) return { kind: 'undeclared', catalogRevision };
    return {
      kind: 'implicit',
      policy: { ...implicit, source: 'environment', thresholdRows: await this.opts.thresholds.threshold() },
    };
  }
}

/** A `retrain_policies` entry of a declaration as the decision uses it. */
export function fromDeclaration(p: RetrainPolicyDeclaration): RetrainPolicy {
  return {
    source: 'catalog',
    modelName: p.model,
    alias: p.alias,
    stage: p.stage ?? undefined,
    tags: {
      featureVersion: p.tags.feature_version,
      splitVersion: p.tags.split_version,
      modelVersion: p.tags.model_version,
    },
    masterRowsMetric: p.master_rows_metric,
    experimentIds: p.experiments,
    thresholdRows: p.threshold_rows,
    requestWhenNoCompatibleRun: p.when_no_compatible_run === 'request',
  };
}

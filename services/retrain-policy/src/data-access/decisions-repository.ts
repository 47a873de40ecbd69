import { withTransaction, type Pool } from '@tributary/db';
import { pgToAppError } from '@tributary/errors';
import { retrainRequested, type RetrainRequested } from '@tributary/events';
import { enqueueEvent } from '@tributary/outbox';
import type {
  Decision,
  DecisionOutcome,
  DecisionStore,
  PolicySource,
  StoredDecision,
} from '../domain/ports.ts';
import { AppError } from '@tributary/errors';

/** model_name of a decision for no model (the column is part of the unique key, so not NULL). */
const NO_MODEL = '';

interface DecisionRow {
  id: number;
  dataset: string;
  master_version: number;
  master_event_id: string;
  run_id: string;
  master_location: string;
  master_checksum: string;
  current_master_rows: number;
  threshold_rows: number | null;
  outcome: DecisionOutcome;
  requested: boolean;
  reason: string;
  model_name: string;
  policy_source: PolicySource | null;
  catalog_revision: number | null;
  model_registry_version: string | null;
  model_selected_by: string | null;
  production_run_id: string | null;
  feature_version: string | null;
  split_version: string | null;
  model_version: string | null;
  last_compatible_run_id: string | null;
  last_run_master_rows: number | null;
  new_rows: number | null;
  retrain_event_id: string | null;
  decided_at: Date;
}

/** Column of each Decision field, in insert order. */
const COLUMNS: readonly [keyof Decision, string][] = [
  ['dataset', 'dataset'],
  ['masterVersion', 'master_version'],
  ['masterEventId', 'master_event_id'],
  ['runId', 'run_id'],
  ['masterLocation', 'master_location'],
  ['masterChecksum', 'master_checksum'],
  ['currentMasterRows', 'current_master_rows'],
  ['thresholdRows', 'threshold_rows'],
  ['outcome', 'outcome'],
  ['requested', 'requested'],
  ['reason', 'reason'],
  ['modelName', 'model_name'],
  ['policySource', 'policy_source'],
  ['catalogRevision', 'catalog_revision'],
  ['modelRegistryVersion', 'model_registry_version'],
  ['modelSelectedBy', 'model_selected_by'],
  ['productionRunId', 'production_run_id'],
  ['featureVersion', 'feature_version'],
  ['splitVersion', 'split_version'],
  ['modelVersion', 'model_version'],
  ['lastCompatibleRunId', 'last_compatible_run_id'],
  ['lastRunMasterRows', 'last_run_master_rows'],
  ['newRows', 'new_rows'],
];

export interface DecisionQuery {
  dataset?: string | undefined;
  masterVersion?: number | undefined;
  /** Only this model's decisions; null: only the decisions for no model (undeclared, no policy). */
  modelName?: string | null | undefined;
  limit: number;
}

/** Stored retrain decisions; a decision and its retrain.requested outbox row commit together. */
export class DecisionsRepository implements DecisionStore {
  private readonly pool: Pool;
  constructor(pool: Pool) {
    this.pool = pool;
  }

  async find(
    dataset: string,
    masterVersion: number,
    modelName: string | null,
  ): Promise<StoredDecision | undefined> {
    const [found] = await this.list({ dataset, masterVersion, modelName, limit: 1 });
    return found;
  }

  async latestVersion(dataset: string, modelName: string): Promise<number | undefined> {
    const { rows } = await this.pool
      .query<{ latest: string | null }>(
        'SELECT max(master_version) AS latest FROM retrain_decisions WHERE dataset = $1 AND model_name = $2',
        [dataset, modelName],
      )
      .catch((err: unknown) => {
        throw pgToAppError(err);
      });
    return rows[0]?.latest == null ? undefined : Number(rows[0].latest);
  }

  async get(id: string): Promise<StoredDecision | undefined> {
    if (!/^\d{1,18}$/.test(id)) return undefined;
    const { rows } = await this.pool
      .query<DecisionRow>(`SELECT * FROM retrain_decisions WHERE id = $1`, [id])
      .catch((err: unknown) => {
        throw pgToAppError(err);
      });
    return rows[0] && toDecision(rows[0]);
  }

  /** Newest first. */
  async list(query: DecisionQuery): Promise<StoredDecision[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.dataset !== undefined) where.push(`dataset = $${params.push(query.dataset)}`);
    if (query.masterVersion !== undefined)
      where.push(`master_version = $${params.push(query.masterVersion)}`);
    if (query.modelName !== undefined)
      where.push(`model_name = $${params.push(query.modelName ?? NO_MODEL)}`);
    const { rows } = await this.pool
      .query<DecisionRow>(
        `SELECT * FROM retrain_decisions ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY decided_at DESC, id DESC LIMIT $${params.push(query.limit)}`,
        params,
      )
      .catch((err: unknown) => {
        throw pgToAppError(err);
      });
    return rows.map(toDecision);
  }

  async record(
    decision: Decision,
    retrain: ((decisionId: string) => RetrainRequested) | undefined,
  ): Promise<{ decision: StoredDecision; created: boolean }> {
    const stored = await withTransaction(this.pool, async (client) => {
      // A concurrent delivery of the same master version may have decided this model meanwhile:
      // the unique key keeps the first decision, and this transaction then enqueues nothing.
      const { rows } = await client.query<DecisionRow>(
        `INSERT INTO retrain_decisions (${COLUMNS.map(([, c]) => c).join(', ')})
         VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
         ON CONFLICT ON CONSTRAINT retrain_decisions_model_key DO NOTHING
         RETURNING *`,
        COLUMNS.map(([field]) =>
          field === 'modelName' ? (decision.modelName ?? NO_MODEL) : decision[field],
        ),
      );
      const row = rows[0];
      if (!row) return undefined;
      if (!retrain) return toDecision(row);
      const event = retrain(String(row.id));
      await enqueueEvent(client, retrainRequested, event);
      const updated = await client.query<DecisionRow>(
        `UPDATE retrain_decisions SET retrain_event_id = $2 WHERE id = $1 RETURNING *`,
        [row.id, event.event_id],
      );
      return toDecision(updated.rows[0]!);
    });
    if (stored) return { decision: stored, created: true };
    const existing = await this.find(decision.dataset, decision.masterVersion, decision.modelName);
    if (!existing) {
      throw new AppError(
        'RTP_ERR_DECISION_VANISHED',
        `decision for ${decision.dataset} v${decision.masterVersion} ${decision.modelName ?? '(no model)'} vanished`,
      );
    }
    return { decision: existing, created: false };
  }
}

function toDecision(row: DecisionRow): StoredDecision {
  return {
    id: String(row.id),
    dataset: row.dataset,
    masterVersion: row.master_version,
    masterEventId: row.master_event_id,
    runId: row.run_id,
    masterLocation: row.master_location,
    masterChecksum: row.master_checksum,
    currentMasterRows: row.current_master_rows,
    thresholdRows: row.threshold_rows,
    outcome: row.outcome,
    requested: row.requested,
    reason: row.reason,
    modelName: row.model_name === NO_MODEL ? null : row.model_name,
    policySource: row.policy_source,
    catalogRevision: row.catalog_revision === null ? null : Number(row.catalog_revision),
    modelRegistryVersion: row.model_registry_version,
    modelSelectedBy: row.model_selected_by,
    productionRunId: row.production_run_id,
    featureVersion: row.feature_version,
    splitVersion: row.split_version,
    modelVersion: row.model_version,
    lastCompatibleRunId: row.last_compatible_run_id,
    lastRunMasterRows: row.last_run_master_rows,
    newRows: row.new_rows,
    retrainEventId: row.retrain_event_id,
    decidedAt: row.decided_at.toISOString(),
  };
}

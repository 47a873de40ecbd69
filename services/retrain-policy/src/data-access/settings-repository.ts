import { withTransaction, type Pool, type PoolClient } from '@tributary/db';
import { AppError, pgToAppError } from '@tributary/errors';
import {
  THRESHOLD_SETTING,
  type Actor,
  type ThresholdChange,
  type ThresholdRepository,
  type ThresholdSetting,
} from '../domain/retrain-threshold.ts';

interface SettingRow {
  name: string;
  value: unknown;
  updated_at: Date;
  updated_by: string;
}

interface AuditRow {
  id: number;
  name: string;
  old_value: unknown;
  new_value: unknown;
  actor: string;
  token_name: string | null;
  changed_at: Date;
}

/** Actor recorded for the value written from configuration on first start. */
const SEED_ACTOR = 'config (first start)';

/** RETRAIN_THRESHOLD_ROWS in Postgres, with an append-only audit of its changes. */
export class SettingsRepository implements ThresholdRepository {
  private readonly pool: Pool;
  constructor(pool: Pool) {
    this.pool = pool;
  }

  /** Writes the configured value only if the setting does not exist yet; later starts keep the stored one. */
  async seedThreshold(value: number): Promise<boolean> {
    return withTransaction(this.pool, async (client) => {
      const { rowCount } = await client.query(
        `INSERT INTO runtime_settings (name, value, updated_by) VALUES ($1, $2::jsonb, $3)
         ON CONFLICT (name) DO NOTHING`,
        [THRESHOLD_SETTING, JSON.stringify(value), SEED_ACTOR],
      );
      if (rowCount === 0) return false;
      await insertAudit(client, null, value, { actor: SEED_ACTOR, tokenName: null });
      return true;
    });
  }

  async threshold(): Promise<number> {
    return (await this.get()).value;
  }

  async get(): Promise<ThresholdSetting> {
    const { rows } = await this.pool
      .query<SettingRow>(`SELECT name, value, updated_at, updated_by FROM runtime_settings WHERE name = $1`, [
        THRESHOLD_SETTING,
      ])
      .catch((err: unknown) => {
        throw pgToAppError(err);
      });
    const row = rows[0];
    if (!row) {
      throw new AppError(
        'RTP_ERR_SETTING_MISSING',
        `${THRESHOLD_SETTING} is not stored (the service seeds it at start)`,
      );
    }
    return {
      name: row.name,
      value: asThreshold(row.value),
      updatedAt: row.updated_at.toISOString(),
      updatedBy: row.updated_by,
    };
  }

  async set(value: number, who: Actor): Promise<ThresholdChange> {
    return withTransaction(this.pool, async (client) => {
      // The row lock orders concurrent changes, so each audit row's old value is the one it replaced.
      const { rows } = await client.query<{ value: unknown }>(
        `SELECT value FROM runtime_settings WHERE name = $1 FOR UPDATE`,
        [THRESHOLD_SETTING],
      );
      const old = rows[0] ? asThreshold(rows[0].value) : null;
      await client.query(
        `INSERT INTO runtime_settings (name, value, updated_at, updated_by) VALUES ($1, $2::jsonb, now(), $3)
         ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now(), updated_by = EXCLUDED.updated_by`,
        [THRESHOLD_SETTING, JSON.stringify(value), who.actor],
      );
      return insertAudit(client, old, value, who);
    });
  }

  async history(limit: number): Promise<ThresholdChange[]> {
    const { rows } = await this.pool
      .query<AuditRow>(
        `SELECT id, name, old_value, new_value, actor, token_name, changed_at FROM runtime_settings_audit
          WHERE name = $1 ORDER BY id DESC LIMIT $2`,
        [THRESHOLD_SETTING, limit],
      )
      .catch((err: unknown) => {
        throw pgToAppError(err);
      });
    return rows.map(toChange);
  }
}

async function insertAudit(
  client: PoolClient,
  oldValue: number | null,
  newValue: number,
  who: Actor,
): Promise<ThresholdChange> {
  const { rows } = await client.query<AuditRow>(
    `INSERT INTO runtime_settings_audit (name, old_value, new_value, actor, token_name)
     VALUES ($1, $2::jsonb, $3::jsonb, $4, $5)
     RETURNING id, name, old_value, new_value, actor, token_name, changed_at`,
    [
      THRESHOLD_SETTING,
      oldValue === null ? null : JSON.stringify(oldValue),
      JSON.stringify(newValue),
      who.actor,
      who.tokenName,
    ],
  );
  return toChange(rows[0]!);
}

function toChange(row: AuditRow): ThresholdChange {
  return {
    id: String(row.id),
    name: row.name,
    oldValue: row.old_value === null ? null : asThreshold(row.old_value),
    newValue: asThreshold(row.new_value),
    actor: row.actor,
    tokenName: row.token_name,
    changedAt: row.changed_at.toISOString(),
  };
}

function asThreshold(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new AppError(
      'RTP_ERR_SETTING_INVALID',
      `stored ${THRESHOLD_SETTING} is not a whole number: ${String(value)}`,
    );
  }
  return value;
}

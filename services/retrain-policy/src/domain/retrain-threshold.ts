import { AppError } from '@tributary/errors';
import type { ThresholdStore } from './ports.ts';

/** Name of the runtime setting, as in the seed's Airflow variable. */
export const THRESHOLD_SETTING = 'RETRAIN_THRESHOLD_ROWS';

export interface ThresholdSetting {
  name: string;
  value: number;
  updatedAt: string;
  updatedBy: string;
}

/** One audited change: who (the actor, and the token used), when, from what to what. */
export interface ThresholdChange {
  id: string;
  name: string;
  oldValue: number | null;
  newValue: number;
  actor: string;
  tokenName: string | null;
  changedAt: string;
}

export interface Actor {
  actor: string;
  tokenName: string | null;
}

export interface ThresholdRepository extends ThresholdStore {
  get(): Promise<ThresholdSetting>;
  /** Writes the value and its audit row in one transaction; returns the audit row. */
  set(value: number, who: Actor): Promise<ThresholdChange>;
  history(limit: number): Promise<ThresholdChange[]>;
}

/** Changes RETRAIN_THRESHOLD_ROWS; the next decision reads the new value (no restart). */
export async function changeThreshold(
  repo: ThresholdRepository,
  value: unknown,
  who: Actor,
): Promise<ThresholdChange> {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new AppError(
      'RTP_ERR_INVALID_THRESHOLD',
      `${THRESHOLD_SETTING} must be a whole number >= 0, got ${JSON.stringify(value) ?? String(value)}`,
    );
  }
  return repo.set(value, who);
}

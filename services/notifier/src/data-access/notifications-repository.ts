import type { Pool } from '@tributary/db';
import type { Channel } from '../domain/notify.ts';

/**
 * Notifications by kind and dataset version. The primary key makes each one at-most-once; the
 * status (sending, sent, retrying, failed) and the parked payload drive the retries.
 */
export class NotificationsRepository {
  constructor(private readonly pool: Pool) {}

  async claim(kind: Channel, datasetVersion: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO notifications (kind, dataset_version, status) VALUES ($1, $2, 'sending') ON CONFLICT DO NOTHING`,
      [kind, datasetVersion],
    );
    return rowCount === 1;
  }

  async markSent(kind: Channel, datasetVersion: string): Promise<void> {
    await this.pool.query(
      `UPDATE notifications SET status = 'sent', sent_at = now(), payload = NULL, next_attempt_at = NULL
       WHERE kind = $1 AND dataset_version = $2`,
      [kind, datasetVersion],
    );
  }

  async scheduleRetry(
    kind: Channel,
    datasetVersion: string,
    payload: unknown,
    attempt: number,
    dueAt: Date,
    error: string,
  ): Promise<void> {
    await this.pool.query(
      `UPDATE notifications SET status = 'retrying', payload = $3, attempt = $4, next_attempt_at = $5, last_error = $6
       WHERE kind = $1 AND dataset_version = $2`,
      [kind, datasetVersion, JSON.stringify(payload), attempt, dueAt, error],
    );
  }

  async markFailed(kind: Channel, datasetVersion: string, error: string): Promise<void> {
    await this.pool.query(
      `UPDATE notifications SET status = 'failed', next_attempt_at = NULL, last_error = $3
       WHERE kind = $1 AND dataset_version = $2`,
      [kind, datasetVersion, error],
    );
  }

  /** Claims up to `limit` parked notifications that are due (SKIP LOCKED: one replica each). */
  async claimDue(
    limit: number,
  ): Promise<{ kind: Channel; datasetVersion: string; payload: unknown; attempt: number }[]> {
    const { rows } = await this.pool.query<{
      kind: Channel;
      dataset_version: string;
      payload: unknown;
      attempt: number;
    }>(
      `UPDATE notifications SET status = 'sending', next_attempt_at = NULL
       WHERE (kind, dataset_version) IN (
         SELECT kind, dataset_version FROM notifications
         WHERE status = 'retrying' AND next_attempt_at <= now()
         ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING kind, dataset_version, payload, attempt`,
      [limit],
    );
    return rows.map((r) => ({
      kind: r.kind,
      datasetVersion: r.dataset_version,
      payload: r.payload,
      attempt: r.attempt,
    }));
  }
}

import type { Pool } from '@tributary/db';
import type { Channel, DueNotification } from '../domain/notify.ts';

/**
 * Notifications by kind and dataset version. The primary key keeps a redelivered event from sending
 * one twice; the status (sending, sent, retrying, failed), the payload kept from the claim on and
 * the claim time drive the retries, and the recovery of claims whose replica died.
 */
export class NotificationsRepository {
  private readonly pool: Pool;
  constructor(pool: Pool) {
    this.pool = pool;
  }

  /**
   * Claims a notification with its payload, so that another replica can send it if this one dies,
   * and the traceparent of its run, so that its retries stay in the run's trace.
   */
  async claim(
    kind: Channel,
    datasetVersion: string,
    payload: unknown,
    traceparent: string | null = null,
  ): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO notifications (kind, dataset_version, status, payload, claimed_at, traceparent)
       VALUES ($1, $2, 'sending', $3, now(), $4) ON CONFLICT DO NOTHING`,
      [kind, datasetVersion, JSON.stringify(payload), traceparent],
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

  /**
   * Claims up to `limit` notifications: parked ones that are due, and ones left 'sending' for longer
   * than `leaseMs` (their replica died before marking them: the new claim is their next attempt).
   * SKIP LOCKED gives each to one replica; a locked row is left to the replica taking it.
   */
  async claimDue(limit: number, leaseMs: number): Promise<DueNotification[]> {
    const { rows } = await this.pool.query<{
      kind: Channel;
      dataset_version: string;
      payload: unknown;
      attempt: number;
      expired: boolean;
      traceparent: string | null;
    }>(
      `WITH due AS (
         SELECT kind, dataset_version, status FROM notifications
         WHERE (status = 'retrying' AND next_attempt_at <= now())
            OR (status = 'sending' AND claimed_at <= now() - $2::integer * interval '1 millisecond')
         ORDER BY coalesce(next_attempt_at, claimed_at) LIMIT $1 FOR UPDATE SKIP LOCKED)
       UPDATE notifications n SET status = 'sending', next_attempt_at = NULL, claimed_at = now(),
         attempt = CASE WHEN due.status = 'sending' THEN n.attempt + 1 ELSE n.attempt END
       FROM due WHERE n.kind = due.kind AND n.dataset_version = due.dataset_version
       RETURNING n.kind, n.dataset_version, n.payload, n.attempt, due.status = 'sending' AS expired,
         n.traceparent`,
      [limit, leaseMs],
    );
    return rows.map((r) => ({
      kind: r.kind,
      datasetVersion: r.dataset_version,
      payload: r.payload,
      attempt: r.attempt,
      expired: r.expired,
      traceparent: r.traceparent,
    }));
  }
}

import { withTransaction, type Pool, type PoolClient } from '@tributary/db';
import type { Channel } from '../domain/ports.ts';

/** A notification the retry poller of an older release left sending or parked. */
export interface LegacyNotification {
  kind: Channel;
  datasetVersion: string;
  payload: unknown;
  /** The attempt its job is: a claim left sending counts as a failed attempt. */
  attempt: number;
  dueAt: Date;
  traceparent: string | null;
}

/**
 * Notifications by kind and dataset version: the record of what was sent. The primary key keeps a
 * redelivered event from sending one twice; the status (sending, sent, retrying, failed), the
 * attempt and the last error say where each stands. The delivery itself is a job (job_id).
 */
export class NotificationsRepository {
  private readonly pool: Pool;
  constructor(pool: Pool) {
    this.pool = pool;
  }

  /**
   * Claims a notification and, in the same transaction, `enqueue`s its delivery (answering the
   * job's id): either both exist or neither. False when it was claimed before.
   */
  async claim(
    kind: Channel,
    datasetVersion: string,
    enqueue: (tx: PoolClient) => Promise<string>,
  ): Promise<boolean> {
    return withTransaction(this.pool, async (client) => {
      const { rowCount } = await client.query(
        `INSERT INTO notifications (kind, dataset_version, status) VALUES ($1, $2, 'sending')
         ON CONFLICT DO NOTHING`,
        [kind, datasetVersion],
      );
      if (rowCount !== 1) return false;
      const jobId = await enqueue(client);
      await client.query('UPDATE notifications SET job_id = $3 WHERE kind = $1 AND dataset_version = $2', [
        kind,
        datasetVersion,
        jobId,
      ]);
      return true;
    });
  }

  async markSent(kind: Channel, datasetVersion: string, attempt: number): Promise<void> {
    await this.pool.query(
      `UPDATE notifications SET status = 'sent', sent_at = now(), attempt = $3, last_error = NULL
       WHERE kind = $1 AND dataset_version = $2`,
      [kind, datasetVersion, attempt],
    );
  }

  async markRetrying(
    kind: Channel,
    datasetVersion: string,
    nextAttempt: number,
    error: string,
  ): Promise<void> {
    await this.pool.query(
      `UPDATE notifications SET status = 'retrying', attempt = $3, last_error = $4
       WHERE kind = $1 AND dataset_version = $2`,
      [kind, datasetVersion, nextAttempt, error],
    );
  }

  async markFailed(kind: Channel, datasetVersion: string, attempt: number, error: string): Promise<void> {
    await this.pool.query(
      `UPDATE notifications SET status = 'failed', attempt = $3, last_error = $4
       WHERE kind = $1 AND dataset_version = $2`,
      [kind, datasetVersion, attempt, error],
    );
  }

  /**
   * Hands the notifications the retry poller of an older release left sending or parked (no job)
   * over to `park` (which sends the job, answering its id), one transaction each: a parked one is
   * due when it was, one left sending (its replica may still be delivering it) when its lease of
   * `leaseMs` ends. A claim made before payloads were kept has nothing to resend: it is failed.
   * SKIP LOCKED: each to one replica.
   */
  async handOverParked(
    leaseMs: number,
    park: (n: LegacyNotification, tx: PoolClient) => Promise<string>,
  ): Promise<{ handed: number; failed: { kind: Channel; attempt: number }[] }> {
    const result = { handed: 0, failed: [] as { kind: Channel; attempt: number }[] };
    for (;;) {
      const done = await withTransaction(this.pool, async (client) => {
        const { rows } = await client.query<{
          kind: Channel;
          dataset_version: string;
          status: 'sending' | 'retrying';
          payload: unknown;
          attempt: number;
          due_at: Date;
          traceparent: string | null;
        }>(
          `SELECT kind, dataset_version, status, payload, attempt, traceparent,
             CASE WHEN status = 'retrying' THEN coalesce(next_attempt_at, now())
               ELSE coalesce(claimed_at, now()) + $1::integer * interval '1 millisecond' END AS due_at
           FROM notifications WHERE status IN ('sending', 'retrying') AND job_id IS NULL
           LIMIT 1 FOR UPDATE SKIP LOCKED`,
          [leaseMs],
        );
        const row = rows[0];
        if (!row) return true;
        const key = [row.kind, row.dataset_version];
        const attempt = row.status === 'sending' ? row.attempt + 1 : row.attempt;
        if (row.payload === null) {
          await client.query(
            `UPDATE notifications SET status = 'failed', attempt = $3, last_error = $4, next_attempt_at = NULL
             WHERE kind = $1 AND dataset_version = $2`,
            [...key, attempt, `${row.kind} claim expired without a payload to resend`],
          );
          result.failed.push({ kind: row.kind, attempt });
          return false;
        }
        const jobId = await park(
          {
            kind: row.kind,
            datasetVersion: row.dataset_version,
            payload: row.payload,
            attempt,
            dueAt: row.due_at,
            traceparent: row.traceparent,
          },
          client,
        );
        await client.query(
          `UPDATE notifications SET job_id = $3, payload = NULL, next_attempt_at = NULL
           WHERE kind = $1 AND dataset_version = $2`,
          [...key, jobId],
        );
        result.handed += 1;
        return false;
      });
      if (done) return result;
    }
  }
}

import type { Pool } from '@tributary/db';

/** Sent notifications, keyed by kind and dataset version. */
export class NotificationsRepository {
  constructor(private readonly pool: Pool) {}

  async claim(kind: string, datasetVersion: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'INSERT INTO notifications (kind, dataset_version) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [kind, datasetVersion],
    );
    return rowCount === 1;
  }

  async release(kind: string, datasetVersion: string): Promise<void> {
    await this.pool.query('DELETE FROM notifications WHERE kind = $1 AND dataset_version = $2', [
      kind,
      datasetVersion,
    ]);
  }

  async list(limit: number): Promise<{ kind: string; datasetVersion: string; sentAt: string }[]> {
    const { rows } = await this.pool.query<{ kind: string; dataset_version: string; sent_at: Date }>(
      'SELECT * FROM notifications ORDER BY sent_at DESC LIMIT $1',
      [limit],
    );
    return rows.map((r) => ({
      kind: r.kind,
      datasetVersion: r.dataset_version,
      sentAt: r.sent_at.toISOString(),
    }));
  }
}

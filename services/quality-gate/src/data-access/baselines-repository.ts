import { diffSpecs, type FieldChange } from '@tributary/catalog';
import { withTransaction, type Pool, type PoolClient } from '@tributary/db';
import type { Baseline } from '../domain/ports.ts';

/** Who makes a baseline change: a person or system (the request's actor), and the admin token's name. */
export interface BaselineActor {
  actor: string;
  tokenName: string | null;
}

/** One change of a baseline, as the audit keeps it. */
export interface BaselineChange {
  id: string;
  name: string;
  /** `seeded`: stored from a job's `baseline.seed` (or BASELINE_SEED); `created`/`updated`: by the admin API. */
  action: 'seeded' | 'created' | 'updated';
  actor: string;
  tokenName: string | null;
  /** The fields that differ from the body it replaced (one change at path "" for a new baseline). */
  diff: FieldChange[];
  body: Omit<Baseline, 'name'>;
  changedAt: string;
}

interface ChangeRow {
  id: string;
  name: string;
  action: BaselineChange['action'];
  actor: string;
  token_name: string | null;
  diff: FieldChange[];
  body: Omit<Baseline, 'name'>;
  changed_at: Date;
}

/** The baselines in the service's Postgres schema, with an append-only audit of every change. */
export class BaselinesRepository {
  private readonly pool: Pool;
  constructor(pool: Pool) {
    this.pool = pool;
  }

  async get(name: string): Promise<(Baseline & { updatedAt: string; updatedBy: string | null }) | undefined> {
    const { rows } = await this.pool.query<{
      body: Omit<Baseline, 'name'>;
      updated_at: Date;
      updated_by: string | null;
    }>('SELECT body, updated_at, updated_by FROM baselines WHERE name = $1', [name]);
    const row = rows[0];
    return (
      row && {
        ...row.body,
        name,
        updatedAt: row.updated_at.toISOString(),
        updatedBy: row.updated_by,
      }
    );
  }

  /** Creates or replaces a baseline, recording who did it and the diff; answers the audit row. */
  async put(baseline: Baseline, who: BaselineActor): Promise<BaselineChange> {
    const { name, ...body } = baseline;
    return withTransaction(this.pool, async (client) => {
      // The row lock orders concurrent changes, so each audit row's diff is against the body it replaced.
      const { rows } = await client.query<{ body: Omit<Baseline, 'name'> }>(
        'SELECT body FROM baselines WHERE name = $1 FOR UPDATE',
        [name],
      );
      const before = rows[0]?.body;
      await client.query(
        `INSERT INTO baselines (name, body, updated_by) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET body = EXCLUDED.body, updated_at = now(), updated_by = EXCLUDED.updated_by`,
        [name, JSON.stringify(body), who.actor],
      );
      return audit(client, name, before === undefined ? 'created' : 'updated', who, before, body);
    });
  }

  /** Stores a baseline only if none has the name yet (audited as `seeded`); true when it did. */
  async seed(baseline: Baseline, who: BaselineActor): Promise<boolean> {
    const { name, ...body } = baseline;
    return withTransaction(this.pool, async (client) => {
      const { rowCount } = await client.query(
        'INSERT INTO baselines (name, body, updated_by) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING',
        [name, JSON.stringify(body), who.actor],
      );
      if (rowCount !== 1) return false;
      await audit(client, name, 'seeded', who, undefined, body);
      return true;
    });
  }

  /** The changes of a baseline, newest first. */
  async history(name: string, limit: number): Promise<BaselineChange[]> {
    const { rows } = await this.pool.query<ChangeRow>(
      `SELECT id, name, action, actor, token_name, diff, body, changed_at FROM baseline_changes
        WHERE name = $1 ORDER BY id DESC LIMIT $2`,
      [name, limit],
    );
    return rows.map(toChange);
  }
}

async function audit(
  client: PoolClient,
  name: string,
  action: BaselineChange['action'],
  who: BaselineActor,
  before: Omit<Baseline, 'name'> | undefined,
  after: Omit<Baseline, 'name'>,
): Promise<BaselineChange> {
  const { rows } = await client.query<ChangeRow>(
    `INSERT INTO baseline_changes (name, action, actor, token_name, diff, body)
     VALUES ($1, $2, $3, $4, $5, $6)
     RETURNING id, name, action, actor, token_name, diff, body, changed_at`,
    [name, action, who.actor, who.tokenName, JSON.stringify(diffSpecs(before, after)), JSON.stringify(after)],
  );
  return toChange(rows[0]!);
}

function toChange(r: ChangeRow): BaselineChange {
  return {
    id: String(r.id),
    name: r.name,
    action: r.action,
    actor: r.actor,
    tokenName: r.token_name,
    diff: r.diff,
    body: r.body,
    changedAt: r.changed_at.toISOString(),
  };
}

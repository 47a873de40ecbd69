import { contractSchema, type DataContract } from '@tributary/contracts';
import { withTransaction, type Pool, type PoolClient } from '@tributary/db';
import { AppError } from '@tributary/errors';
import {
  datasetDeclarationSchema,
  describeIssues,
  landingFolder,
  type DatasetDeclaration,
} from './declaration.ts';
import { diffSpecs, specHash, type FieldChange } from './diff.ts';

/** A resource handed to apply, with the file it came from so that every problem names it. */
export interface SourcedResource {
  source?: string | undefined;
  spec: unknown;
}

export interface ApplyRequest {
  datasets: SourcedResource[];
  contracts: SourcedResource[];
  /** Delete the declared datasets that are not in `datasets` (the directory is the whole truth). */
  prune?: boolean;
  /** Delete even datasets that hold data (their data is kept). */
  force?: boolean;
  dryRun?: boolean;
  actor: string;
  tokenName?: string | undefined;
}

export type ChangeAction = 'created' | 'updated' | 'unchanged' | 'deleted' | 'published';

export interface PlannedChange {
  kind: 'dataset' | 'contract';
  name: string;
  action: ChangeAction;
  diff: FieldChange[];
}

export interface ApplyResult {
  dryRun: boolean;
  /** Catalog revision after the apply (unchanged for a dry run or a no-op). */
  revision: number;
  changes: PlannedChange[];
}

export interface StoredDataset {
  name: string;
  spec: DatasetDeclaration;
  sha256: string;
  generation: number;
  updatedAt: string;
  updatedBy: string;
}

export interface CatalogChange {
  revision: number;
  kind: 'dataset' | 'contract';
  name: string;
  action: ChangeAction;
  generation: number | null;
  actor: string;
  tokenName: string | null;
  diff: FieldChange[];
  changedAt: string;
}

export interface PublishedContract {
  name: string;
  version: string;
  sha256: string;
  body: DataContract;
  publishedAt: string;
  publishedBy: string;
}

export interface CatalogStoreOptions {
  pool: Pool;
  schema: string;
  /** True when a dataset holds data (batches, master versions): its removal then needs force. */
  hasData?: (dataset: string) => Promise<boolean>;
}

/** The refusal of an apply: every problem, each naming its file and field path. */
export function catalogRefusal(code: 'CATALOG_ERR_INVALID' | 'CATALOG_ERR_CONFLICT', problems: string[]) {
  return new AppError(code, `catalog change refused: ${problems.join('; ')}`, { details: { problems } });
}

/**
 * The catalog's Postgres tables: applies declarations and contracts as one transaction (all or
 * nothing, serialised across replicas), and reads them back with their audit.
 */
export class CatalogStore {
  private readonly t: (table: string) => string;
  private readonly opts: CatalogStoreOptions;

  constructor(opts: CatalogStoreOptions) {
    this.opts = opts;
    this.t = (table) => `"${opts.schema}".${table}`;
  }

  async apply(req: ApplyRequest): Promise<ApplyResult> {
    const problems: string[] = [];
    const where = (r: SourcedResource, name?: string) => r.source ?? name ?? '(request)';

    const contracts: { source: string; contract: DataContract; sha256: string }[] = [];
    for (const r of req.contracts) {
      const parsed = contractSchema.safeParse(r.spec);
      if (!parsed.success) {
        for (const p of describeIssues(parsed.error)) problems.push(`${where(r)}: ${p}`);
        continue;
      }
      contracts.push({ source: where(r), contract: parsed.data, sha256: specHash(parsed.data) });
    }
    const datasets: { source: string; spec: DatasetDeclaration }[] = [];
    for (const r of req.datasets) {
      const parsed = datasetDeclarationSchema.safeParse(r.spec);
      if (!parsed.success) {
        for (const p of describeIssues(parsed.error)) problems.push(`${where(r)}: ${p}`);
        continue;
      }
      datasets.push({ source: where(r, parsed.data.name), spec: parsed.data });
    }
    if (problems.length > 0) throw catalogRefusal('CATALOG_ERR_INVALID', problems);
    duplicates(
      datasets.map((d) => ({ key: d.spec.name, source: d.source })),
      'dataset',
      problems,
    );
    duplicates(
      contracts.map((c) => ({ key: `${c.contract.name}@${c.contract.version}`, source: c.source })),
      'contract',
      problems,
    );
    if (problems.length > 0) throw catalogRefusal('CATALOG_ERR_INVALID', problems);

    return withTransaction(this.opts.pool, async (client) => {
      // One apply at a time: each plans against what the previous one wrote.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${this.opts.schema}:apply`]);
      const changes: PlannedChange[] = [];
      const conflicts: string[] = [];

      const known = await this.contractHashes(client);
      for (const c of contracts) {
        const key = `${c.contract.name}@${c.contract.version}`;
        const stored = known.get(key);
        if (stored === undefined) {
          changes.push({
            kind: 'contract',
            name: key,
            action: 'published',
            diff: diffSpecs(undefined, c.contract),
          });
          known.set(key, c.sha256);
        } else if (stored !== c.sha256) {
          conflicts.push(
            `${c.source}: contract ${key} is published with sha256 ${stored} and cannot change (this file has sha256 ${c.sha256}); publish the change as a new version`,
          );
        } else {
          changes.push({ kind: 'contract', name: key, action: 'unchanged', diff: [] });
        }
      }

      const existing = new Map((await this.listDatasets(client)).map((d) => [d.name, d]));
      const after = new Map(existing);
      for (const d of datasets) {
        d.spec.contract.versions.forEach((version, i) => {
          if (!known.has(`${d.spec.contract.name}@${version}`)) {
            problems.push(
              `${d.source}: contract.versions.${i}: contract ${d.spec.contract.name}@${version} is not published (add its file to the contracts directory)`,
            );
          }
        });
        const before = existing.get(d.spec.name);
        const diff = diffSpecs(before?.spec, d.spec);
        changes.push({
          kind: 'dataset',
          name: d.spec.name,
          action: before === undefined ? 'created' : diff.length === 0 ? 'unchanged' : 'updated',
          diff,
        });
        after.set(d.spec.name, { ...(before ?? emptyStored(d.spec.name)), spec: d.spec });
      }
      if (req.prune === true) {
        const declared = new Set(datasets.map((d) => d.spec.name));
        for (const name of existing.keys()) {
          if (declared.has(name)) continue;
          const refusal = await this.removalRefusal(name, req.force === true);
          if (refusal) conflicts.push(refusal);
          changes.push({
            kind: 'dataset',
            name,
            action: 'deleted',
            diff: diffSpecs(existing.get(name)!.spec, undefined),
          });
          after.delete(name);
        }
      }
      evaluationSetClashes([...after.values()], problems);
      landingFolderClashes([...after.values()], problems);
      if (problems.length > 0) throw catalogRefusal('CATALOG_ERR_INVALID', problems);
      if (conflicts.length > 0) throw catalogRefusal('CATALOG_ERR_CONFLICT', conflicts);

      if (req.dryRun === true) return { dryRun: true, revision: await this.revision(client), changes };
      for (const c of contracts) {
        const key = `${c.contract.name}@${c.contract.version}`;
        if (!changes.some((ch) => ch.kind === 'contract' && ch.name === key && ch.action === 'published'))
          continue;
        await client.query(
          `INSERT INTO ${this.t('contracts')} (name, version, sha256, body, published_by) VALUES ($1, $2, $3, $4, $5)`,
          [c.contract.name, c.contract.version, c.sha256, c.contract, req.actor],
        );
        await this.audit(client, req, 'contract', key, 'published', null, [], c.contract);
      }
      for (const d of datasets) {
        const change = changes.find((ch) => ch.kind === 'dataset' && ch.name === d.spec.name)!;
        if (change.action === 'unchanged') continue;
        const { rows } = await client.query<{ generation: number }>(
          `INSERT INTO ${this.t('datasets')} (name, spec, sha256, generation, updated_by)
           VALUES ($1, $2, $3, 1, $4)
           ON CONFLICT (name) DO UPDATE SET spec = EXCLUDED.spec, sha256 = EXCLUDED.sha256,
             generation = datasets.generation + 1, updated_at = now(), updated_by = EXCLUDED.updated_by
           RETURNING generation`,
          [d.spec.name, d.spec, specHash(d.spec), req.actor],
        );
        await this.audit(
          client,
          req,
          'dataset',
          d.spec.name,
          change.action,
          rows[0]!.generation,
          change.diff,
          d.spec,
        );
      }
      for (const change of changes.filter((ch) => ch.kind === 'dataset' && ch.action === 'deleted')) {
        await this.deleteRow(client, req, change.name, change.diff);
      }
      return { dryRun: false, revision: await this.revision(client), changes };
    });
  }

  /** Removes one declaration; one that holds data needs `force`, and its data is kept. */
  async remove(
    name: string,
    opts: { force: boolean; actor: string; tokenName?: string | undefined },
  ): Promise<ApplyResult> {
    return withTransaction(this.opts.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${this.opts.schema}:apply`]);
      const existing = (await this.listDatasets(client, name))[0];
      if (!existing) throw new AppError('CATALOG_ERR_NOT_FOUND', `dataset ${name} is not declared`);
      const refusal = await this.removalRefusal(name, opts.force);
      if (refusal) throw catalogRefusal('CATALOG_ERR_CONFLICT', [refusal]);
      const diff = diffSpecs(existing.spec, undefined);
      await this.deleteRow(client, opts, name, diff);
      return {
        dryRun: false,
        revision: await this.revision(client),
        changes: [{ kind: 'dataset', name, action: 'deleted', diff }],
      };
    });
  }

  async datasets(name?: string): Promise<StoredDataset[]> {
    const client = await this.opts.pool.connect();
    try {
      return await this.listDatasets(client, name);
    } finally {
      client.release();
    }
  }

  async contracts(): Promise<PublishedContract[]> {
    const { rows } = await this.opts.pool.query<ContractRow>(
      `SELECT name, version, sha256, body, published_at, published_by FROM ${this.t('contracts')} ORDER BY name, version`,
    );
    return rows.map(contractFromRow);
  }

  async contract(name: string, version: string): Promise<PublishedContract | undefined> {
    const { rows } = await this.opts.pool.query<ContractRow>(
      `SELECT name, version, sha256, body, published_at, published_by FROM ${this.t('contracts')} WHERE name = $1 AND version = $2`,
      [name, version],
    );
    return rows[0] && contractFromRow(rows[0]);
  }

  /** The audit, newest first; of one dataset or contract when `name` is given. */
  async history(opts: { name?: string | undefined; limit: number }): Promise<CatalogChange[]> {
    const { rows } = await this.opts.pool.query<ChangeRow>(
      `SELECT revision, kind, name, action, generation, actor, token_name, diff, changed_at
         FROM ${this.t('changes')} WHERE ($1::text IS NULL OR name = $1 OR name LIKE $1 || '@%')
        ORDER BY revision DESC LIMIT $2`,
      [opts.name ?? null, opts.limit],
    );
    return rows.map((r) => ({
      revision: r.revision,
      kind: r.kind,
      name: r.name,
      action: r.action,
      generation: r.generation,
      actor: r.actor,
      tokenName: r.token_name,
      diff: r.diff,
      changedAt: r.changed_at.toISOString(),
    }));
  }

  async revision(client: Pool | PoolClient = this.opts.pool): Promise<number> {
    const { rows } = await client.query<{ revision: number | null }>(
      `SELECT max(revision)::int AS revision FROM ${this.t('changes')}`,
    );
    return rows[0]?.revision ?? 0;
  }

  private async removalRefusal(name: string, force: boolean): Promise<string | undefined> {
    if (force || !this.opts.hasData || !(await this.opts.hasData(name))) return undefined;
    return `dataset ${name} holds data (batches or master versions): removing its declaration needs force (its data is kept)`;
  }

  private async deleteRow(
    client: PoolClient,
    req: Pick<ApplyRequest, 'actor' | 'tokenName'>,
    name: string,
    diff: FieldChange[],
  ) {
    await client.query(`DELETE FROM ${this.t('datasets')} WHERE name = $1`, [name]);
    await this.audit(client, req, 'dataset', name, 'deleted', null, diff, null);
  }

  private async audit(
    client: PoolClient,
    req: Pick<ApplyRequest, 'actor' | 'tokenName'>,
    kind: 'dataset' | 'contract',
    name: string,
    action: ChangeAction,
    generation: number | null,
    diff: FieldChange[],
    spec: unknown,
  ): Promise<void> {
    await client.query(
      `INSERT INTO ${this.t('changes')} (kind, name, action, generation, actor, token_name, diff, spec)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        kind,
        name,
        action,
        generation,
        req.actor,
        req.tokenName ?? null,
        JSON.stringify(diff),
        spec === null ? null : JSON.stringify(spec),
      ],
    );
  }

  /**
   * Each published contract's hash as it would be computed today: the stored body read again by
   * today's schema, so a field added with a default in a later release does not make an unchanged
   * file look changed (the recorded sha256 is kept when the body cannot be read any more).
   */
  private async contractHashes(client: PoolClient): Promise<Map<string, string>> {
    const { rows } = await client.query<{ key: string; sha256: string; body: unknown }>(
      `SELECT name || '@' || version AS key, sha256, body FROM ${this.t('contracts')}`,
    );
    return new Map(
      rows.map((r) => {
        const reread = contractSchema.safeParse(r.body);
        return [r.key, reread.success ? specHash(reread.data) : r.sha256];
      }),
    );
  }

  private async listDatasets(client: PoolClient, name?: string): Promise<StoredDataset[]> {
    const { rows } = await client.query<DatasetRow>(
      `SELECT name, spec, sha256, generation, updated_at, updated_by FROM ${this.t('datasets')}
        WHERE ($1::text IS NULL OR name = $1) ORDER BY name`,
      [name ?? null],
    );
    return rows.map((r) => ({
      name: r.name,
      // Stored specs were validated on the way in; parsing again fills defaults added since.
      spec: datasetDeclarationSchema.parse(r.spec),
      sha256: r.sha256,
      generation: r.generation,
      updatedAt: r.updated_at.toISOString(),
      updatedBy: r.updated_by,
    }));
  }
}

interface DatasetRow {
  name: string;
  spec: unknown;
  sha256: string;
  generation: number;
  updated_at: Date;
  updated_by: string;
}

interface ContractRow {
  name: string;
  version: string;
  sha256: string;
  body: unknown;
  published_at: Date;
  published_by: string;
}

interface ChangeRow {
  revision: number;
  kind: 'dataset' | 'contract';
  name: string;
  action: ChangeAction;
  generation: number | null;
  actor: string;
  token_name: string | null;
  diff: FieldChange[];
  changed_at: Date;
}

function contractFromRow(r: ContractRow): PublishedContract {
  return {
    name: r.name,
    version: r.version,
    sha256: r.sha256,
    body: contractSchema.parse(r.body),
    publishedAt: r.published_at.toISOString(),
    publishedBy: r.published_by,
  };
}

function emptyStored(name: string): StoredDataset {
  return { name, spec: undefined as never, sha256: '', generation: 0, updatedAt: '', updatedBy: '' };
}

function duplicates(items: { key: string; source: string }[], what: string, problems: string[]): void {
  const first = new Map<string, string>();
  for (const { key, source } of items) {
    const seen = first.get(key);
    if (seen !== undefined) problems.push(`${source}: ${what} ${key} is also declared in ${seen}`);
    else first.set(key, source);
  }
}

/** A landing-zone folder maps to one dataset, or the ingestor could not tell whose batch it holds. */
function landingFolderClashes(datasets: StoredDataset[], problems: string[]): void {
  const owner = new Map<string, string>();
  for (const d of datasets) {
    const folder = landingFolder(d.spec);
    const other = owner.get(folder);
    if (other !== undefined) {
      problems.push(
        `dataset ${d.name}: landing.folder: folder "${folder}" is already the landing folder of dataset ${other}`,
      );
    }
    owner.set(folder, d.name);
  }
}

/** quality.evaluated names the evaluation set alone, so its name must lead back to one dataset. */
function evaluationSetClashes(datasets: StoredDataset[], problems: string[]): void {
  const owner = new Map<string, string>();
  for (const d of datasets) {
    for (const job of d.spec.refresh_jobs) {
      const other = owner.get(job.name);
      if (other !== undefined && other !== d.name) {
        problems.push(
          `dataset ${d.name}: refresh_jobs: evaluation set "${job.name}" is already a refresh job of dataset ${other} (names are unique in a deployment)`,
        );
      }
      owner.set(job.name, d.name);
    }
  }
}

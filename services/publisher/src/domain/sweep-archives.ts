import type { RetentionPolicy } from './retention.ts';

/** What the sweeper needs: the expired archive records and a way to delete their objects. */
export interface SweepDeps {
  expired(policy: RetentionPolicy): Promise<{ datasetVersion: string; prefix: string }[]>;
  keys(prefix: string): Promise<string[]>;
  delete(keys: readonly string[]): Promise<void>;
  markSwept(datasetVersion: string): Promise<void>;
  /** The retention of each evaluation set as the catalog declares it now. */
  retention(): Promise<RetentionPolicy>;
}

/**
 * Deletes the archived objects of every run archived longer ago than the retention of its
 * evaluation set (its dataset's retention_days, else the default). The S3 lifecycle rules do the
 * same where supported; this covers the filesystem, servers without them, and what they leave out.
 */
export async function sweepArchives(deps: SweepDeps): Promise<{ swept: string[] }> {
  const swept: string[] = [];
  for (const archive of await deps.expired(await deps.retention())) {
    await deps.delete(await deps.keys(archive.prefix));
    await deps.markSwept(archive.datasetVersion);
    swept.push(archive.datasetVersion);
  }
  return { swept };
}

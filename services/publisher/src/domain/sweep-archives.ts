/** What the sweeper needs: the expired archive records and a way to delete their objects. */
export interface SweepDeps {
  expired(retentionDays: number): Promise<{ datasetVersion: string; prefix: string }[]>;
  keys(prefix: string): Promise<string[]>;
  delete(keys: readonly string[]): Promise<void>;
  markSwept(datasetVersion: string): Promise<void>;
  retentionDays: number;
}

/**
 * Deletes the archived objects of every run archived more than the retention ago. The S3
 * lifecycle rule does the same where supported; this covers the filesystem and servers without it.
 */
export async function sweepArchives(deps: SweepDeps): Promise<{ swept: string[] }> {
  const swept: string[] = [];
  for (const archive of await deps.expired(deps.retentionDays)) {
    await deps.delete(await deps.keys(archive.prefix));
    await deps.markSwept(archive.datasetVersion);
    swept.push(archive.datasetVersion);
  }
  return { swept };
}

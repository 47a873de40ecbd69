import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';

/** One entry of the quality-gate's REFRESH_SOURCES. */
export interface RefreshSource {
  name: string;
  uri: string;
  sha256: string;
  schema_version: string;
}

/** Writes `rows` as a JSONL file and answers its REFRESH_SOURCES entry (checksum of the bytes written). */
export async function writeJsonlSource(
  file: string,
  name: string,
  rows: readonly Record<string, unknown>[],
  schemaVersion = '1',
): Promise<RefreshSource> {
  const body = rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
  await writeFile(file, body);
  return {
    name,
    uri: pathToFileURL(file).href,
    sha256: createHash('sha256').update(body).digest('hex'),
    schema_version: schemaVersion,
  };
}

import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import { ObjectNotFoundError, objectUri, type ObjectStore } from '@tributary/storage';
import type { CandidateDiff, CandidateFiles } from '../domain/ports.ts';
import type { UriArtifactReader } from './object-stores.ts';

const lit = (text: string) => `'${text.replaceAll("'", "''")}'`;

/**
 * Candidates stream through the publisher: a refresh may give one larger than memory, so it is
 * never held whole. The copy hashes on the way; the diff is DuckDB over local copies of both
 * versions, with its memory bounded and spilling to the scratch folder.
 */
export class StreamedCandidateFiles implements CandidateFiles {
  private readonly opts: { store: ObjectStore; reader: UriArtifactReader; workDir: string };
  constructor(opts: { store: ObjectStore; reader: UriArtifactReader; workDir: string }) {
    this.opts = opts;
  }

  async publish(uri: string, key: string): Promise<{ location: string; sha256: string }> {
    const source = await this.opts.reader.open(uri);
    const hash = createHash('sha256');
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    const stored = this.opts.store.put(key, tap);
    await Promise.all([pipeline(source, tap), stored]);
    return { location: objectUri(this.opts.store, key), sha256: hash.digest('hex') };
  }

  async diff(currentUri: string | undefined, previousKey: string | undefined): Promise<CandidateDiff> {
    const dir = await mkdtemp(path.join(this.opts.workDir, 'publisher-diff-'));
    try {
      const current =
        currentUri && (await this.local(() => this.opts.reader.open(currentUri), dir, 'current'));
      const previous =
        previousKey && (await this.local(() => this.opts.store.get(previousKey), dir, 'previous'));
      const instance = await DuckDBInstance.create(':memory:', {
        threads: '1',
        memory_limit: '256MB',
        temp_directory: dir,
      });
      try {
        const conn = await instance.connect();
        // JSON text never holds a raw control character, so 0x1F as the delimiter keeps each line whole.
        const lines = (file: string | undefined) =>
          file
            ? `(SELECT DISTINCT line FROM read_csv(${lit(file)}, columns = {'line': 'VARCHAR'}, header = false,
                 auto_detect = false, delim = '\x1f', quote = '', escape = '', new_line = '\\n',
                 max_line_size = 16777216, buffer_size = 33554432) WHERE line IS NOT NULL AND line <> '')`
            : `(SELECT NULL::VARCHAR AS line WHERE false)`;
        await conn.run(`CREATE TEMP TABLE current_lines AS ${lines(current)}`);
        await conn.run(`CREATE TEMP TABLE previous_lines AS ${lines(previous)}`);
        const result = await conn.runAndReadAll(
          `SELECT (SELECT count(*) FROM current_lines)::BIGINT,
                  (SELECT count(*) FROM (SELECT line FROM current_lines EXCEPT SELECT line FROM previous_lines))::BIGINT,
                  (SELECT count(*) FROM (SELECT line FROM previous_lines EXCEPT SELECT line FROM current_lines))::BIGINT`,
        );
        const [rows, added, removed] = result.getRows()[0]!.map(Number);
        conn.closeSync();
        return { rows: rows!, added: added!, removed: removed!, previous: previous !== undefined };
      } finally {
        instance.closeSync();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** A local copy of an artifact, or undefined when it does not exist. */
  private async local(open: () => Promise<Readable>, dir: string, name: string): Promise<string | undefined> {
    const file = path.join(dir, `${name}.jsonl`);
    try {
      await pipeline(await open(), createWriteStream(file));
      return file;
    } catch (err) {
      if (err instanceof ObjectNotFoundError || isMissingArtifact(err)) return undefined;
      throw err;
    }
  }
}

function isMissingArtifact(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'PUB_ERR_ARTIFACT_MISSING';
}

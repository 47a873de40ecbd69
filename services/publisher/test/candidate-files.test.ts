import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createObjectStore, type ObjectStore } from '@tributary/storage';
import { StreamedCandidateFiles } from '../src/data-access/candidate-files.ts';
import { UriArtifactReader } from '../src/data-access/object-stores.ts';

let dir: string;
let store: ObjectStore;
let candidates: StreamedCandidateFiles;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'publisher-candidates-'));
  store = createObjectStore(path.join(dir, 'published'));
  candidates = new StreamedCandidateFiles({ store, reader: new UriArtifactReader({}), workDir: dir });
});
afterAll(() => fs.rm(dir, { recursive: true, force: true }));

/** A candidate written where the quality-gate writes them; its URI. */
async function candidate(name: string, lines: string[]): Promise<string> {
  const file = path.join(dir, 'gate', `${name}.jsonl`);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, lines.map((l) => `${l}\n`).join(''));
  return pathToFileURL(file).href;
}

describe('candidates streamed through the publisher', () => {
  it('when a candidate is published, then the stored bytes are the candidate and its sha256 is theirs', async () => {
    // Rows with commas, quotes and escapes: the copy is byte for byte.
    const rows = Array.from({ length: 50_000 }, (_, i) =>
      JSON.stringify({ id: i, text: `a, "quoted" \\ value ${i}`, tab: '\t' }),
    );
    const uri = await candidate('big', rows);
    const published = await candidates.publish(uri, 'datasets/eval/v1/candidate.jsonl');
    const bytes = await fs.readFile(new URL(uri));
    expect(published.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect((await store.getBuffer('datasets/eval/v1/candidate.jsonl')).equals(bytes)).toBe(true);
    expect(published.location).toMatch(/\/datasets\/eval\/v1\/candidate\.jsonl$/);
  });

  it('when two versions are compared, then distinct rows, added and removed are counted by whole line', async () => {
    const a = '{"id":1,"t":"x, \\"y\\""}';
    const b = '{"id":2,"t":"b"}';
    const c = '{"id":3,"t":"c"}';
    const d = '{"id":4,"t":"d"}';
    await store.put('datasets/eval/v0/candidate.jsonl', [a, b, c, ''].join('\n'));
    const uri = await candidate('v1', [a, a, c, d, '{"id":5,"t":"e"}']);
    expect(await candidates.diff(uri, 'datasets/eval/v0/candidate.jsonl')).toEqual({
      rows: 4,
      added: 2,
      removed: 1,
      previous: true,
    });
  });

  it('when the previous candidate or the current one is missing, then the diff counts against nothing', async () => {
    const uri = await candidate('first', ['{"id":1}', '{"id":2}']);
    expect(await candidates.diff(uri, 'datasets/eval/none/candidate.jsonl')).toEqual({
      rows: 2,
      added: 2,
      removed: 0,
      previous: false,
    });
    expect(await candidates.diff(undefined, undefined)).toEqual({
      rows: 0,
      added: 0,
      removed: 0,
      previous: false,
    });
  });
});

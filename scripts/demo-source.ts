/**
 * The demo's refresh sources: all 344 Palmer penguins as a JSONL file plus the master version that
 * triggered the refresh, and the baseline the gate compares candidates with (every species required;
 * species and flipper length as seen in the data).
 * Prints the values datasets/penguins.yaml reads from the environment, as shell exports.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PENGUIN_COUNT, penguinRows, writeJsonlSource } from '@tributary/testing';

const dir = join(process.argv[2] ?? '.', 'eval');
mkdirSync(dir, { recursive: true });
const rows = (await penguinRows({ count: PENGUIN_COUNT })).map(({ image: _image, ...row }) => row);

const frequencies: Record<string, number> = {};
for (const r of rows) frequencies[r.species] = (frequencies[r.species] ?? 0) + 1;
const source = await writeJsonlSource(join(dir, 'penguins.jsonl'), 'palmer-penguins', rows);
const baseline = {
  required_slices: Object.keys(frequencies).sort(),
  metrics: {},
  columns: {
    species: { type: 'categorical', frequencies },
    flipper_length_mm: {
      type: 'numeric',
      values: rows.map((r) => r.flipper_length_mm).filter((v): v is number => v !== null),
    },
  },
};
const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
process.stdout.write(`export PENGUINS_EVAL_URI=${quote(source.uri)}\n`);
process.stdout.write(`export PENGUINS_EVAL_SHA256=${quote(source.sha256)}\n`);
process.stdout.write(`export PENGUINS_BASELINE=${quote(JSON.stringify(baseline))}\n`);

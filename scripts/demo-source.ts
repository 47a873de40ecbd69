/**
 * The demo's refresh sources: all 344 Palmer penguins as a JSONL file plus the master version that
 * triggered the refresh, and the baseline the gate compares candidates with (every species required;
 * species and flipper length as seen in the data).
 * Prints the REFRESH_SOURCES and BASELINE_SEED settings for the quality-gate, as shell exports.
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
// The master version that triggered the refresh is read too, from the preprocessor's store.
const master = { name: 'master', master: true, schema_version: source.schema_version };
process.stdout.write(`export REFRESH_SOURCES=${quote(JSON.stringify([source, master]))}\n`);
process.stdout.write(`export BASELINE_SEED=${quote(JSON.stringify(baseline))}\n`);

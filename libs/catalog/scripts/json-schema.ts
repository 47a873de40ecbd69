/**
 * Writes the JSON Schema of dataset declarations to datasets/dataset.schema.json, where editors
 * find it (`# yaml-language-server: $schema=./dataset.schema.json`). `--check` fails when the
 * file is not what the zod schema gives, so the published schema never drifts (run in CI).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { declarationJsonSchema } from '../src/json-schema.ts';

const target = fileURLToPath(new URL('../../../datasets/dataset.schema.json', import.meta.url));
const text = `${JSON.stringify(declarationJsonSchema(), null, 2)}\n`;

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // missing: reported below
  }
  if (current !== text) {
    process.stderr.write(`${target} is not current: run npm run catalog:schema\n`);
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
  process.stdout.write(`wrote ${target}\n`);
}

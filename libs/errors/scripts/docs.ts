// Regenerates docs/errors.md from the error catalog (libs/errors/src/catalog.ts):
//   node libs/errors/scripts/docs.ts          (write)
//   node libs/errors/scripts/docs.ts --check  (exit 1 when the doc is stale)
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { renderErrorsDoc } from '../src/doc.ts';

const docPath = fileURLToPath(new URL('../../../docs/errors.md', import.meta.url));
const current = await readFile(docPath, 'utf8').catch(() => '');
const next = renderErrorsDoc();
if (process.argv.includes('--check')) {
  if (next !== current) {
    process.stderr.write('docs/errors.md is stale: run node libs/errors/scripts/docs.ts\n');
    process.exit(1);
  }
} else if (next !== current) {
  await writeFile(docPath, next);
  process.stdout.write('docs/errors.md updated\n');
}

// Regenerates the contract sections of docs/contracts.md from contracts/*/*.yaml:
//   node libs/contracts/scripts/contracts-doc.ts          (write)
//   node libs/contracts/scripts/contracts-doc.ts --check  (exit 1 when the doc is stale)
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { defaultContractsDir, listContracts, renderContractsDoc, spliceGenerated } from '../src/index.ts';

const docPath = fileURLToPath(new URL('../../../docs/contracts.md', import.meta.url));
const current = await readFile(docPath, 'utf8');
const next = spliceGenerated(
  current,
  renderContractsDoc(await listContracts(fileURLToPath(defaultContractsDir))),
);
if (process.argv.includes('--check')) {
  if (next !== current) {
    process.stderr.write('docs/contracts.md is stale: run node libs/contracts/scripts/contracts-doc.ts\n');
    process.exit(1);
  }
} else if (next !== current) {
  await writeFile(docPath, next);
  process.stdout.write('docs/contracts.md updated\n');
}

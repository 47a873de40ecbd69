import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { AppError } from '@tributary/errors';
import type { SourcedResource } from './store.ts';

/**
 * The declarations of a directory: every `*.yaml`/`*.yml` file directly in it, each document of a
 * file one dataset. A file that is not YAML is refused naming it; the schema is checked on apply.
 */
export async function readDeclarationFiles(dir: string): Promise<SourcedResource[]> {
  const names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  const resources: SourcedResource[] = [];
  for (const name of names) {
    const file = join(dir, name);
    for (const spec of await parseYamlFile(file)) resources.push({ source: file, spec });
  }
  return resources;
}

/**
 * The contracts of a directory laid out as `<name>/<version>.yaml`; a file whose path does not
 * match the name and version it declares is refused, since the path is how people find it.
 */
export async function readContractFiles(dir: string): Promise<SourcedResource[]> {
  const resources: SourcedResource[] = [];
  const entries = await readdir(dir, { withFileTypes: true });
  for (const folder of entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()) {
    const files = (await readdir(join(dir, folder))).filter((n) => /^\d+\.\d+\.\d+\.ya?ml$/.test(n)).sort();
    for (const name of files) {
      const file = join(dir, folder, name);
      const [spec] = await parseYamlFile(file);
      const declared = spec as { name?: unknown; version?: unknown } | undefined;
      const version = name.replace(/\.ya?ml$/, '');
      if (declared?.name !== folder || declared.version !== version) {
        throw new AppError(
          'CATALOG_ERR_INVALID',
          `${relative(process.cwd(), file) || file}: declares ${String(declared?.name)}@${String(declared?.version)}, expected ${folder}@${version} from its path`,
        );
      }
      resources.push({ source: file, spec });
    }
  }
  return resources;
}

async function parseYamlFile(file: string): Promise<unknown[]> {
  const text = await readFile(file, 'utf8');
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  const out: unknown[] = [];
  for (const doc of list) {
    if (doc.errors.length > 0) {
      throw new AppError(
        'CATALOG_ERR_INVALID',
        `${file}: not valid YAML: ${doc.errors.map((e) => e.message).join('; ')}`,
      );
    }
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { AppError } from '@tributary/errors';
import type { SourcedResource } from './store.ts';

/**
 * The declarations of a directory: every `*.yaml`/`*.yml` file directly in it, each document of a
 * file one dataset. A file that is not YAML is refused naming it; the schema is checked on apply.
 */
export async function readDeclarationFiles(
  dir: string,
  env: Readonly<Record<string, string | undefined>> = {},
): Promise<SourcedResource[]> {
  const names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  const resources: SourcedResource[] = [];
  for (const name of names) {
    const file = join(dir, name);
    const text = interpolate(await readFile(file, 'utf8'), env, file);
    for (const spec of parseYaml(text, file)) resources.push({ source: file, spec });
  }
  return resources;
}

/**
 * Fills `${NAME}` and `${NAME:-default}` from `env`, as compose files do, so that secrets (webhooks,
 * routing keys) and per-environment values (experiment ids, URIs) stay out of the repository.
 * Comment lines are left alone; `$${` writes a literal `${`. An unset variable without a default
 * is refused naming the file and the variable. (Twenty lines: no library does only this.)
 */
export function interpolate(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
  file: string,
): string {
  const missing = new Set<string>();
  const out = text
    .split('\n')
    .map((line) =>
      /^\s*#/.test(line)
        ? line
        : line.replace(
            /\$?\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
            (whole, name: string, fallback?: string) => {
              if (whole.startsWith('$$')) return whole.slice(1);
              const value = env[name] ?? fallback;
              if (value === undefined) missing.add(name);
              return value ?? '';
            },
          ),
    )
    .join('\n');
  if (missing.size > 0) {
    throw new AppError(
      'CATALOG_ERR_INVALID',
      `${file}: environment variable(s) ${[...missing].join(', ')} not set (give a default with \${NAME:-value})`,
    );
  }
  return out;
}

/**
 * The contracts of a directory, laid out as `<name>/<version>.yaml` (the repository's layout) or
 * flat as `<name>-<version>.yaml` (a Kubernetes ConfigMap, whose keys have no "/"). A file whose
 * path does not match the name and version it declares is refused, since the path is how people
 * find it.
 */
export async function readContractFiles(dir: string): Promise<SourcedResource[]> {
  const resources: SourcedResource[] = [];
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  const files: { file: string; name: string; version: string }[] = [];
  for (const entry of entries) {
    const flat = /^(.+)-(\d+\.\d+\.\d+)\.ya?ml$/.exec(entry.name);
    if (entry.isDirectory()) {
      const versions = (await readdir(join(dir, entry.name)))
        .filter((n) => /^\d+\.\d+\.\d+\.ya?ml$/.test(n))
        .sort();
      for (const v of versions) {
        files.push({ file: join(dir, entry.name, v), name: entry.name, version: v.replace(/\.ya?ml$/, '') });
      }
    } else if (flat) {
      files.push({ file: join(dir, entry.name), name: flat[1]!, version: flat[2]! });
    }
  }
  for (const { file, name, version } of files) {
    const [spec] = parseYaml(await readFile(file, 'utf8'), file);
    const declared = spec as { name?: unknown; version?: unknown } | undefined;
    if (declared?.name !== name || declared.version !== version) {
      throw new AppError(
        'CATALOG_ERR_INVALID',
        `${relative(process.cwd(), file) || file}: declares ${String(declared?.name)}@${String(declared?.version)}, expected ${name}@${version} from its path`,
      );
    }
    resources.push({ source: file, spec });
  }
  return resources;
}

function parseYaml(text: string, file: string): unknown[] {
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

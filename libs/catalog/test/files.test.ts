import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  datasetDeclarationSchema,
  interpolate,
  readContractFiles,
  readDeclarationFiles,
} from '../src/index.ts';

const repo = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));

describe('declaration and contract files', () => {
  it('when the repository folders are read, then every declaration is valid and every contract matches its path', async () => {
    const declarations = await readDeclarationFiles(repo('datasets'), {
      PENGUINS_EXPERIMENT: '1',
      PENGUINS_EVAL_URI: 'file:///tmp/penguins.jsonl',
      PENGUINS_EVAL_SHA256: 'a'.repeat(64),
      PENGUINS_BASELINE: '{"required_slices": ["Adelie"]}',
    });
    expect(declarations.map((d) => (d.spec as { name: string }).name).sort()).toEqual([
      'penguins',
      'seattle-weather',
    ]);
    for (const d of declarations) expect(datasetDeclarationSchema.safeParse(d.spec).error).toBeUndefined();
    const contracts = await readContractFiles(repo('contracts'));
    expect(contracts.map((c) => c.source!.replace(repo('contracts'), ''))).toContain('/penguins/1.0.0.yaml');
  });

  it('when contracts are laid flat as <name>-<version>.yaml (a ConfigMap), then they are read; a mismatched path is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'contracts-'));
    cpSync(repo('contracts/seattle-weather/1.0.0.yaml'), join(dir, 'seattle-weather-1.0.0.yaml'));
    const [flat] = await readContractFiles(dir);
    expect(flat!.spec).toMatchObject({ name: 'seattle-weather', version: '1.0.0' });

    mkdirSync(join(dir, 'penguins'));
    cpSync(repo('contracts/penguins/1.0.0.yaml'), join(dir, 'penguins', '2.0.0.yaml'));
    await expect(readContractFiles(dir)).rejects.toThrow(
      /declares penguins@1.0.0, expected penguins@2.0.0 from its path/,
    );
  });

  it('when a declaration names ${VAR}, then the value comes from the environment, with defaults; an unset one is refused naming it', async () => {
    expect(interpolate('a: ${A}\nb: ${B:-two}\n# c: ${C}\nd: $${D}', { A: 'one' }, 'f.yaml')).toBe(
      'a: one\nb: two\n# c: ${C}\nd: ${D}',
    );
    const dir = mkdtempSync(join(tmpdir(), 'datasets-'));
    writeFileSync(join(dir, 'x.yaml'), 'name: ${MISSING_ONE}\n');
    await expect(readDeclarationFiles(dir, {})).rejects.toThrow(
      /x.yaml: environment variable\(s\) MISSING_ONE not set/,
    );
  });
});

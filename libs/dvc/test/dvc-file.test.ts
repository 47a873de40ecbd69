import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashFile, renderDvcFile } from '../src/index.ts';
import { DvcSandbox } from '@tributary/testing';

let sandbox: DvcSandbox;
beforeAll(async () => {
  sandbox = await DvcSandbox.create();
});
afterAll(() => sandbox.dispose());

/**
 * Paths that YAML must quote (they would read back as booleans, numbers, dates, null, or start
 * with an indicator), may not quote, or must fold because they pass the 80-column width.
 */
const PATHS = [
  'plain.csv',
  'true',
  'False',
  'yes',
  'on',
  '123',
  '0o17',
  '0x1F',
  '1e3',
  '.5',
  'null',
  '~',
  '2024-01-01',
  '12:30',
  '#hash',
  'x #y',
  'a: b',
  'a:b',
  "it's",
  '"dq"',
  '@at',
  '&amp',
  '*star',
  '!bang',
  '%pct',
  '[br',
  'a,b',
  ' lead',
  'trail ',
  'a\ttab',
  'ünïcødé',
  '😀',
  '=',
  '<<',
  'w'.repeat(120),
  `${'word '.repeat(25)}end`,
  `'${'quoted words '.repeat(8)}'`,
];

describe('renderDvcFile against dvc add', () => {
  it('when dvc add tracks files with names YAML must quote or fold, then our .dvc files equal its', async () => {
    const repo = await sandbox.initRepo('paths');
    for (const name of PATHS) await fs.writeFile(path.join(repo, name), `content of ${name}\n`);

    await sandbox.dvcOk(repo, ['add', '--', ...PATHS]);

    for (const name of PATHS) {
      const theirs = await fs.readFile(path.join(repo, `${name}.dvc`), 'utf8');
      expect(renderDvcFile({ path: name, ...(await hashFile(path.join(repo, name))) }), name).toBe(theirs);
    }
  });
});

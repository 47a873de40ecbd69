import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tsNodeArgs } from '@tributary/testing';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('docs/contracts.md', () => {
  it('when the contract files are rendered, then the generated sections of the doc are current', async () => {
    const run = await promisify(execFile)(
      process.execPath,
      [...tsNodeArgs('libs/contracts/scripts/contracts-doc.ts'), '--check'],
      { cwd: root },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
    );
    expect(run).toEqual({ code: 0, stderr: '' });
  });
});

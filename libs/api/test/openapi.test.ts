import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tsNodeArgs } from '@tributary/testing';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('docs/api/<service>.openapi.json', () => {
  it("when each service's routes are documented, then the generated OpenAPI files are current", async () => {
    const run = await promisify(execFile)(
      process.execPath,
      [...tsNodeArgs('scripts/openapi.ts'), '--check'],
      {
        cwd: root,
      },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
    );
    expect(run).toEqual({ code: 0, stderr: '' });
  });
});

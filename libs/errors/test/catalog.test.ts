import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { glob } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tsNodeArgs } from '@tributary/testing';
import { AREAS, AppError, ERRORS, errorBody, isErrorCode, parseErrorBody } from '../src/index.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const CODE = /\b[A-Z]+_ERR_[A-Z0-9_]*[A-Z0-9]\b/g;

/** Every code-shaped word in the files a glob matches, with where it was seen first. */
async function codesIn(patterns: string[], exclude: (file: string) => boolean): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  for await (const file of glob(patterns, { cwd: root })) {
    if (exclude(file)) continue;
    const text = await readFile(`${root}${file}`, 'utf8');
    for (const match of text.matchAll(CODE)) if (!seen.has(match[0])) seen.set(match[0], file);
  }
  return seen;
}

describe('error catalog', () => {
  it('when the catalog is read, then every code names a known area and has a status and one line of docs', () => {
    for (const [code, spec] of Object.entries(ERRORS)) {
      const area = code.slice(0, code.indexOf('_ERR_'));
      expect(Object.keys(AREAS), code).toContain(area);
      expect(code, code).toMatch(/^[A-Z]+_ERR_[A-Z0-9_]+$/);
      expect(spec.status, code).toBeGreaterThanOrEqual(400);
      expect(spec.status, code).toBeLessThan(600);
      expect(spec.doc, code).toMatch(/^\S.*\.$/);
      expect(spec.doc, code).not.toContain('\n');
    }
  });

  it('when the sources name an error code, then it is in the catalog', async () => {
    // Codes that do not reach AppError's typed constructor (event fields, headers, tests) included.
    const seen = await codesIn(
      [
        'libs/*/src/**/*.ts',
        'services/*/src/**/*.{ts,tsx}',
        'services/*/web/src/**/*.{ts,tsx}',
        'cli/src/**/*.ts',
      ],
      (file) => file.includes('node_modules') || file.includes('/generated/'),
    );
    const unknown = [...seen].filter(([code]) => !isErrorCode(code)).map(([c, f]) => `${c} (${f})`);
    expect(unknown).toEqual([]);
  });

  it('when alerts and dashboards key on a code, then it is in the catalog', async () => {
    const seen = await codesIn(['deploy/**/*.{yml,yaml,json}'], () => false);
    const unknown = [...seen].filter(([code]) => !isErrorCode(code)).map(([c, f]) => `${c} (${f})`);
    expect(unknown).toEqual([]);
  });

  it('when the catalog is rendered, then docs/errors.md is current', async () => {
    const run = await promisify(execFile)(
      process.execPath,
      [...tsNodeArgs('libs/errors/scripts/docs.ts'), '--check'],
      { cwd: root },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
    );
    expect(run).toEqual({ code: 0, stderr: '' });
  });
});

describe('AppError', () => {
  it('when no flag is given, then the catalog gives the retriable flag and the HTTP status', () => {
    expect(new AppError('EVT_ERR_REGISTRY_UNAVAILABLE', 'down')).toMatchObject({
      retriable: true,
      status: 503,
    });
    expect(new AppError('EVT_ERR_DECODE', 'bad')).toMatchObject({ retriable: false, status: 422 });
    expect(new AppError('QG_ERR_CLUSTER_REFUSED', '5xx', { retriable: true }).retriable).toBe(true);
  });

  it('when an AppError is answered, then its body is the one shape and clients read it back', () => {
    const bare = errorBody(new AppError('PRE_ERR_NO_TABLE', 'no table'));
    expect(bare).toEqual({ error: { code: 'PRE_ERR_NO_TABLE', message: 'no table' } });
    const withDetails = errorBody(
      new AppError('CATALOG_ERR_INVALID', 'bad', { details: { problems: ['a'] } }),
    );
    expect(withDetails).toEqual({
      error: { code: 'CATALOG_ERR_INVALID', message: 'bad', details: { problems: ['a'] } },
    });
    expect(parseErrorBody(JSON.stringify(withDetails))).toEqual(withDetails.error);
    expect(parseErrorBody('{"error":"ING_ERR_X","message":"old shape"}')).toBeUndefined();
    expect(parseErrorBody('not json')).toBeUndefined();
  });
});

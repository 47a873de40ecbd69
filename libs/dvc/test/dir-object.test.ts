import { describe, expect, it } from 'vitest';
import { buildDirObject, dirObjectJson, dvcObjectKey, renderDvcFile, sortDirEntries } from '../src/index.ts';

const MD5_A = '0'.repeat(32);
const MD5_B = 'f'.repeat(32);

describe('dirObjectJson', () => {
  it('when relpaths hold non-ASCII and control characters, then they are escaped as Python json.dumps does', () => {
    const json = dirObjectJson([
      { relpath: 'a/b c', md5: MD5_B },
      { relpath: 'ü/😀"\\\t\u007f/~é', md5: MD5_A },
    ]);

    // Expected bytes are Python's own: json.dumps(entries, sort_keys=True).
    expect(json).toBe(
      '[{"md5": "ffffffffffffffffffffffffffffffff", "relpath": "a/b c"}, ' +
        '{"md5": "00000000000000000000000000000000", "relpath": "\\u00fc/\\ud83d\\ude00\\"\\\\\\t\\u007f/~\\u00e9"}]',
    );
  });

  it('when entries are unordered, then they are sorted by whole relpath in code point order', () => {
    const sorted = sortDirEntries(
      ['sub/a', 'sub-x', '😀', '～', 'B', 'a'].map((relpath) => ({ relpath, md5: MD5_A, size: 0 })),
    ).map((e) => e.relpath);

    // "-" (U+002D) sorts before "/" (U+002F); U+FF5E before U+1F600 although its UTF-16 unit is larger.
    expect(sorted).toEqual(['B', 'a', 'sub-x', 'sub/a', '～', '😀']);
  });

  it('when a relpath is not a clean relative posix path, then it is rejected', () => {
    for (const relpath of ['../x', '/abs', 'a//b', 'a/./b', '']) {
      expect(() => dirObjectJson([{ relpath, md5: MD5_A }]), relpath).toThrow(/relative posix path/);
    }
    expect(() =>
      dirObjectJson([
        { relpath: 'x', md5: MD5_A },
        { relpath: 'x', md5: MD5_B },
      ]),
    ).toThrow(/Duplicate/);
  });
});

describe('buildDirObject', () => {
  it('when a directory has no files, then its hash is the one DVC gives an empty directory', () => {
    expect(buildDirObject([])).toEqual({
      md5: 'd751713988987e9331980363e24189ce.dir',
      size: 0,
      nfiles: 0,
      json: '[]',
      entries: [],
    });
  });

  it('when entries carry sizes, then size is their sum and nfiles their count', () => {
    const dir = buildDirObject([
      { relpath: 'b', md5: MD5_B, size: 5 },
      { relpath: 'a', md5: MD5_A, size: 7 },
    ]);

    expect(dir).toMatchObject({ size: 12, nfiles: 2 });
    expect(dir.md5).toMatch(/^[0-9a-f]{32}\.dir$/);
    expect(dir.entries.map((e) => e.relpath)).toEqual(['a', 'b']);
  });
});

describe('dvcObjectKey', () => {
  it('when given a file or a directory hash, then it names the files/md5/xx/rest key', () => {
    expect(dvcObjectKey('d41d8cd98f00b204e9800998ecf8427e')).toBe(
      'files/md5/d4/1d8cd98f00b204e9800998ecf8427e',
    );
    expect(dvcObjectKey('d751713988987e9331980363e24189ce.dir')).toBe(
      'files/md5/d7/51713988987e9331980363e24189ce.dir',
    );
  });

  it('when given anything else, then it throws', () => {
    for (const bad of ['D41D8CD98F00B204E9800998ECF8427E', 'abc', '../../etc/passwd', `${MD5_A}.txt`]) {
      expect(() => dvcObjectKey(bad), bad).toThrow(/Not a DVC md5/);
    }
  });
});

describe('renderDvcFile', () => {
  it('when a directory out has no nfiles or a file out has one, then it throws', () => {
    expect(() => renderDvcFile({ path: 'd', md5: `${MD5_A}.dir`, size: 1 })).toThrow(/needs nfiles/);
    expect(() => renderDvcFile({ path: 'f', md5: MD5_A, size: 1, nfiles: 1 })).toThrow(/cannot have nfiles/);
  });
});

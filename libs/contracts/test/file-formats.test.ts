import { describe, expect, it } from 'vitest';
import { roleByContent, sniffImage, tableFormatOf } from '../src/file-formats.ts';

const bytes = (s: string) => Buffer.from(s, 'latin1');
/** A PNG's signature and the start of its IHDR chunk. */
const png = Buffer.concat([bytes('\x89PNG\r\n\x1a\n'), bytes('\0\0\0\rIHDR'), Buffer.alloc(13)]);
const parquet = Buffer.concat([bytes('PAR1'), Buffer.alloc(16), bytes('PAR1')]);
const svg = bytes('<?xml version="1.0"?>\n<!-- drawn by hand -->\n<svg xmlns="http://www.w3.org/2000/svg"/>');

describe('file formats by content and name', () => {
  it.each([
    ['a PNG under any name', 'scans/photo.dat', png, 'IMAGE'],
    ['a PNG named like a table', 'rows.csv', png, 'IMAGE'],
    ['an SVG by its root element', 'drawing', svg, 'IMAGE'],
    ['JPEG magic', 'x', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]), 'IMAGE'],
    ['Parquet without extension (Spark part file)', 'part-00000', parquet, 'TABLE'],
    ['a CSV by its name', 'rows.csv', bytes('id,species\nP1,Adelie\n'), 'TABLE'],
    ['JSON Lines by its name', 'rows.ndjson', bytes('{"id":"P1"}\n'), 'TABLE'],
    ['a corrupt image by its name', 'images/broken.png', bytes('not an image'), 'IMAGE'],
    ['a README', 'README.md', bytes('# notes\n'), undefined],
    ['a name that is an Object property', 'x.constructor', bytes('text'), undefined],
  ])('when %s, then its role is %s', (_what, path, head, role) => {
    expect(roleByContent(path, head)).toBe(role);
  });

  it('when a table is read, then Parquet is told by its bytes, then the name, then the first character', () => {
    expect(tableFormatOf('rows.csv', parquet)).toBe('parquet');
    expect(tableFormatOf('part-00000', parquet)).toBe('parquet');
    expect(tableFormatOf('rows.JSONL', bytes('{"a":1}'))).toBe('json');
    expect(tableFormatOf('rows.export', Buffer.from('\uFEFF  {"id":"P1"}', 'utf8'))).toBe('json');
    expect(tableFormatOf('rows.export', bytes('id,species\n'))).toBe('csv');
  });

  it('when the bytes are no image, then no image format is announced', () => {
    expect(sniffImage(png)).toBe('png');
    expect(sniffImage(bytes('BMI,height\n1,2\n'))).toBeUndefined();
    expect(sniffImage(new Uint8Array())).toBeUndefined();
  });
});

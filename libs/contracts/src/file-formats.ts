/**
 * What a batch's file is, told by its first bytes and its name: the one rule the CLI, the ingestor
 * (files whose producer named no role) and the preprocessor (how to read a table) share.
 */

/** How many first bytes of a file the functions below look at. */
export const FILE_HEAD_BYTES = 1024;

/** Formats the preprocessor loads as tables. */
export type TableFileFormat = 'csv' | 'json' | 'parquet';

/** A file's role in a batch: a table of rows, or a file rows link to (images, by the contract's image column). */
export type FileRoleGuess = 'TABLE' | 'IMAGE';

const TABLE_BY_EXTENSION: Record<string, TableFileFormat> = {
  csv: 'csv',
  jsonl: 'json',
  ndjson: 'json',
  json: 'json',
  parquet: 'parquet',
};

/** Image formats by name: a file named so is an image even when its bytes are not (it is then refused by row). */
const IMAGE_EXTENSIONS = /\.(png|jpe?g|webp|gif|tiff?|svg|bmp|avif|heic|heif)$/i;

/** A table format named by the file's extension, if any. */
function tableFormatByName(path: string): TableFileFormat | undefined {
  const ext = extensionOf(path);
  return Object.hasOwn(TABLE_BY_EXTENSION, ext) ? TABLE_BY_EXTENSION[ext] : undefined;
}

function extensionOf(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

function latin1(head: Uint8Array, start: number, end: number): string {
  return Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('latin1', start, end);
}

/** The image format the first bytes of a file announce (magic numbers; SVG by its root element), if any. */
export function sniffImage(head: Uint8Array): string | undefined {
  const ascii = latin1(head, 0, 16);
  if (ascii.startsWith('\x89PNG\r\n\x1a\n')) return 'png';
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (ascii.startsWith('GIF87a') || ascii.startsWith('GIF89a')) return 'gif';
  if (ascii.startsWith('RIFF') && ascii.slice(8, 12) === 'WEBP') return 'webp';
  if (ascii.startsWith('II*\0') || ascii.startsWith('MM\0*')) return 'tiff';
  if (ascii.startsWith('BM') && head.length >= 26 && head[14]! >= 12 && head[15] === 0) return 'bmp';
  if (ascii.slice(4, 8) === 'ftyp') {
    const brand = ascii.slice(8, 12);
    if (brand === 'avif' || brand === 'avis') return 'avif';
    if (['heic', 'heix', 'mif1', 'msf1'].includes(brand)) return 'heif';
  }
  const text = Buffer.from(head.buffer, head.byteOffset, head.byteLength)
    .toString('utf8')
    .replace(/^\uFEFF/, '');
  if (/^\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!DOCTYPE svg[^>]*>\s*)?<svg[\s>]/i.test(text))
    return 'svg';
  return undefined;
}

/** Parquet files start (and end) with the magic `PAR1`, whatever their name. */
export function isParquet(head: Uint8Array): boolean {
  return latin1(head, 0, 4) === 'PAR1';
}

/**
 * How a file given as a table is read: Parquet by its magic bytes, else by its extension
 * (.csv; .json, .jsonl, .ndjson as JSON Lines), else by content (JSON Lines when the first
 * character is `{`, CSV otherwise), so a table the producer named by role reads under any name.
 */
export function tableFormatOf(path: string, head: Uint8Array): TableFileFormat {
  if (isParquet(head)) return 'parquet';
  const byName = tableFormatByName(path);
  if (byName) return byName;
  const text = Buffer.from(head.buffer, head.byteOffset, head.byteLength)
    .toString('utf8')
    .replace(/^\uFEFF/, '');
  return /^\s*\{/.test(text) ? 'json' : 'csv';
}

/**
 * A file's role when its producer did not name one, by content first, then name: image bytes (or
 * an image's name: a corrupt image stays an image, refused by row) → IMAGE; Parquet bytes or a
 * table format's name → TABLE; anything else (a README, notes) → undefined, neither.
 */
export function roleByContent(path: string, head: Uint8Array): FileRoleGuess | undefined {
  if (sniffImage(head) !== undefined) return 'IMAGE';
  if (isParquet(head)) return 'TABLE';
  if (IMAGE_EXTENSIONS.test(path)) return 'IMAGE';
  if (tableFormatByName(path) !== undefined) return 'TABLE';
  return undefined;
}

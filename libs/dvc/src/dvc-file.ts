import { yamlStringValue } from './yaml-scalar.ts';
import { invalid } from './invalid.ts';

/** One tracked output of a `.dvc` file: a file (plain md5) or a directory (md5 ending in `.dir`). */
export interface DvcOut {
  /** Path of the tracked file or directory, relative to the `.dvc` file, posix separators. */
  path: string;
  md5: string;
  /** Bytes of the file, or the sum of the files' bytes of a directory. */
  size: number;
  /** Number of files of a directory; required for a directory, absent for a file. */
  nfiles?: number;
}

const MD5 = /^[0-9a-f]{32}$/;
const DIR_MD5 = /^[0-9a-f]{32}\.dir$/;

/**
 * The text of the `.dvc` file that `dvc add` (DVC 3) writes for `out`, byte for byte: keys in the
 * order md5, size, nfiles (directories only), hash, path; `hash: md5` marks the DVC 3 hash; the
 * path is quoted and folded the way DVC's YAML library does it.
 */
export function renderDvcFile(out: DvcOut): string {
  const isDir = DIR_MD5.test(out.md5);
  if (!isDir && !MD5.test(out.md5)) throw invalid(`Not a DVC md5: '${out.md5}'`);
  if (isDir !== (out.nfiles !== undefined)) {
    throw invalid(
      isDir ? `Directory out '${out.path}' needs nfiles` : `File out '${out.path}' cannot have nfiles`,
    );
  }
  if (out.path === '') throw invalid('A .dvc out needs a path');
  if (!Number.isSafeInteger(out.size) || out.size < 0) throw invalid(`Invalid size ${out.size}`);
  if (out.nfiles !== undefined && (!Number.isSafeInteger(out.nfiles) || out.nfiles < 0)) {
    throw invalid(`Invalid nfiles ${out.nfiles}`);
  }
  // Values continue at indent 4 when folded: the mapping sits at 2 inside the top-level sequence.
  const lines = [
    'outs:',
    `- md5:${yamlStringValue(out.md5, '- md5:'.length, 4)}`,
    `  size: ${out.size}`,
    ...(out.nfiles === undefined ? [] : [`  nfiles: ${out.nfiles}`]),
    '  hash: md5',
    `  path:${yamlStringValue(out.path, '  path:'.length, 4)}`,
  ];
  return `${lines.join('\n')}\n`;
}

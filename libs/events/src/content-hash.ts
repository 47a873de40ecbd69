import { createHash } from 'node:crypto';
import { compareCodePoints } from '@tributary/storage/keys';

/**
 * A batch's identity, as the ingestor and the CLI compute it: hex sha256 of the UTF-8 text made of
 * one line `<path>\t<sha256>\n` per file, files in ascending code-point order of their path. Two
 * submissions with the same id and the same content hash are the same batch (invariant 2).
 */
export function batchContentHash(files: readonly { path: string; sha256: string }[]): string {
  const lines = [...files]
    .sort((a, b) => compareCodePoints(a.path, b.path))
    .map((f) => `${f.path}\t${f.sha256.toLowerCase()}\n`);
  return createHash('sha256').update(lines.join(''), 'utf8').digest('hex');
}

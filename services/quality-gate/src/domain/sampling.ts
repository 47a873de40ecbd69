import { createHash } from 'node:crypto';

/**
 * The engine-independent randomness of a refresh (docs/dataset-refresh.md, "Sampling and
 * augmentation"): every draw is an md5 of text built from the seed and the row's key, so DuckDB's
 * SQL, the cluster job's Python and this module compute the same bits. A row's key is
 * `<source name>:<row position in the source>` (`<source name>/<part relpath>:<row>` for a master part).
 *
 * - sampling: in each stratum, the ceil(n × fraction) rows (at least one) with the lowest first 64
 *   bits of md5(`<seed>:<key>`), ties by key;
 * - word dropout: word i (from 1) is dropped when u(`<seed>:dropout:<key>:<i>`) < rate, keeping the
 *   first word when all would go;
 * - a pluggable augmentation `<name>`: applied when u(`<seed>:<name>:<key>`) < its probability;
 *
 * where u(text) is the first 8 hex digits of md5(text) as an unsigned integer, over 2^32.
 */

/** Words are separated by runs of ASCII whitespace (the same class in RE2, Python and JavaScript). */
export const WORD_SEPARATOR = '[\\t\\n\\x0b\\f\\r ]+';

/** The first 32 bits of md5(text), as an unsigned integer. */
export function hash32(text: string): number {
  return parseInt(createHash('md5').update(text, 'utf8').digest('hex').slice(0, 8), 16);
}

/** The integer a draw's hash32 must reach to escape an event of probability `rate`. */
export function dropThreshold(rate: number): number {
  return Math.ceil(rate * 4294967296);
}

/** Whether the draw named `text` falls under `probability`. */
export function draws(text: string, probability: number): boolean {
  return hash32(text) < dropThreshold(probability);
}

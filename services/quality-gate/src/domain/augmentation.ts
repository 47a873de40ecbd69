import type { CodeAugmentation } from './ports.ts';
import { WORD_SEPARATOR, draws } from './sampling.ts';

const separator = new RegExp(WORD_SEPARATOR);

/**
 * Word dropout on one text column, as a pluggable augmentation: word i (from 1) of a row is dropped
 * when its draw `<seed>:dropout:<key>:<i>` falls under `rate`, never all of them. The engines apply
 * the job's `text_dropout` themselves (in SQL, in the cluster job) with the same draws; this is their
 * reference, and what a job adds for a second text column.
 */
export function wordDropout(column: string, rate: number): CodeAugmentation {
  return {
    name: `word_dropout(${column}, ${rate})`,
    column,
    apply(batch, seed) {
      return Promise.resolve(
        batch.map(({ key, value }) => {
          const words = value.split(separator).filter(Boolean);
          const kept = words.filter((_, i) => !draws(`${seed}:dropout:${key}:${i + 1}`, rate));
          return (kept.length > 0 ? kept : words.slice(0, 1)).join(' ');
        }),
      );
    },
  };
}

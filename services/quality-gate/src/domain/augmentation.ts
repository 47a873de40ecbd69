import type { Augmentation, Random, Row } from './ports.ts';

/**
 * Word dropout on one text column: each word is dropped with probability `rate` (never all of
 * them), driven by the run's seeded PRNG so the same seed gives the same candidate.
 */
export function wordDropout(column: string, rate: number): Augmentation {
  return {
    name: `word_dropout(${column}, ${rate})`,
    apply(rows: Row[], random: Random) {
      return Promise.resolve(
        rows.map((row) => {
          const text = row[column];
          if (typeof text !== 'string') return row;
          const words = text.split(/\s+/).filter(Boolean);
          const kept = words.filter(() => random() >= rate);
          return { ...row, [column]: (kept.length > 0 ? kept : words.slice(0, 1)).join(' ') };
        }),
      );
    },
  };
}

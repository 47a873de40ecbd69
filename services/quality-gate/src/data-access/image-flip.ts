import sharp from 'sharp';
import type { Augmentation, Random, Row } from '../domain/ports.ts';

/**
 * Horizontal flip (mirror) of a base64-encoded image column with `sharp`, applied to each row with
 * probability `probability` drawn from the run's seeded PRNG. The flipped image is re-encoded as PNG
 * (deterministic output for the same input). Rows without a string in the column are left alone.
 */
export function imageHorizontalFlip(column: string, probability: number): Augmentation {
  return {
    name: `image_hflip(${column}, ${probability})`,
    async apply(rows: Row[], random: Random) {
      const out: Row[] = [];
      for (const row of rows) {
        const value = row[column];
        // Draw for every row, so that the rows after it get the same numbers whatever this one holds.
        const flip = random() < probability;
        if (!flip || typeof value !== 'string' || value === '') {
          out.push(row);
          continue;
        }
        const flipped = await sharp(Buffer.from(value, 'base64')).flop().png().toBuffer();
        out.push({ ...row, [column]: flipped.toString('base64') });
      }
      return out;
    },
  };
}

import sharp from 'sharp';
import type { CodeAugmentation } from '../domain/ports.ts';
import { draws } from '../domain/sampling.ts';

/**
 * Horizontal flip (mirror) of a base64-encoded image column with `sharp`: a row's image is flipped
 * when its draw `<seed>:image_hflip:<key>` falls under `probability` (see domain/sampling.ts), and is
 * re-encoded as PNG (deterministic output for the same input). Empty values are left alone. The
 * cluster job does the same with Pillow: the same pixels, though its PNG bytes may differ (each
 * library has its own deflate; see docs/dataset-refresh.md).
 */
export function imageHorizontalFlip(column: string, probability: number): CodeAugmentation {
  return {
    name: `image_hflip(${column}, ${probability})`,
    column,
    cluster: { kind: 'image_hflip', probability },
    async apply(batch, seed) {
      const out: string[] = [];
      for (const { key, value } of batch) {
        if (value === '' || !draws(`${seed}:image_hflip:${key}`, probability)) {
          out.push(value);
          continue;
        }
        const flipped = await sharp(Buffer.from(value, 'base64')).flop().png().toBuffer();
        out.push(flipped.toString('base64'));
      }
      return out;
    },
  };
}

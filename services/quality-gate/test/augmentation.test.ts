import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { imageHorizontalFlip } from '../src/data-access/image-flip.ts';
import { wordDropout } from '../src/domain/augmentation.ts';
import { seededRandom } from '../src/domain/stats.ts';

/** A 2×1 PNG: a red pixel then a blue one. */
async function redBlue(): Promise<string> {
  const raw = Buffer.from([255, 0, 0, 0, 0, 255]);
  const png = await sharp(raw, { raw: { width: 2, height: 1, channels: 3 } })
    .png()
    .toBuffer();
  return png.toString('base64');
}

describe('augmentations', () => {
  it('when an image is flipped, then its pixels are mirrored and other columns are kept', async () => {
    const [row] = await imageHorizontalFlip('image', 1).apply(
      [{ id: 1, image: await redBlue() }],
      seededRandom(1),
    );
    expect(row!.id).toBe(1);
    const pixels = await sharp(Buffer.from(row!.image as string, 'base64'))
      .removeAlpha()
      .raw()
      .toBuffer();
    expect([...pixels]).toEqual([0, 0, 255, 255, 0, 0]);
  });

  it('when the flip probability is 0, then images are left as they are', async () => {
    const image = await redBlue();
    const [row] = await imageHorizontalFlip('image', 0).apply([{ image }], seededRandom(1));
    expect(row!.image).toBe(image);
  });

  it('when word dropout runs twice with the same seed, then it drops the same words', async () => {
    const rows = [{ text: 'one two three four five six seven eight nine ten' }, { text: 'solo' }];
    const a = await wordDropout('text', 0.3).apply(rows, seededRandom(7));
    const b = await wordDropout('text', 0.3).apply(rows, seededRandom(7));
    expect(a).toEqual(b);
    expect((a[0]!.text as string).split(' ').length).toBeLessThan(10);
    expect(a[1]!.text).toBe('solo');
  });
});

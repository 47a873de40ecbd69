import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { imageHorizontalFlip } from '../src/data-access/image-flip.ts';
import { wordDropout } from '../src/domain/augmentation.ts';

/** A 2×1 PNG: a red pixel then a blue one. */
async function redBlue(): Promise<string> {
  const raw = Buffer.from([255, 0, 0, 0, 0, 255]);
  const png = await sharp(raw, { raw: { width: 2, height: 1, channels: 3 } })
    .png()
    .toBuffer();
  return png.toString('base64');
}

describe('augmentations', () => {
  it('when an image is flipped, then its pixels are mirrored', async () => {
    const [image] = await imageHorizontalFlip('image', 1).apply([{ key: 's:1', value: await redBlue() }], 1);
    const pixels = await sharp(Buffer.from(image!, 'base64')).removeAlpha().raw().toBuffer();
    expect([...pixels]).toEqual([0, 0, 255, 255, 0, 0]);
  });

  it('when the flip probability is 0, then images are left as they are', async () => {
    const image = await redBlue();
    const [row] = await imageHorizontalFlip('image', 0).apply([{ key: 's:1', value: image }], 1);
    expect(row).toBe(image);
  });

  it('when word dropout runs twice with the same seed, then it drops the same words', async () => {
    const rows = [
      { key: 's:0', value: 'one two three four five six seven eight nine ten' },
      { key: 's:1', value: 'solo' },
    ];
    const a = await wordDropout('text', 0.3).apply(rows, 42);
    // Batch boundaries do not matter: each row's draws depend on its key and the seed alone.
    const b = [
      ...(await wordDropout('text', 0.3).apply(rows.slice(0, 1), 42)),
      ...(await wordDropout('text', 0.3).apply(rows.slice(1), 42)),
    ];
    expect(a).toEqual(b);
    expect(a[0]!.split(' ').length).toBeLessThan(10);
    expect(a[1]).toBe('solo');
    expect(await wordDropout('text', 0.3).apply(rows, 8)).not.toEqual(a);
  });
});

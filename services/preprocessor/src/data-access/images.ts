import { createHash } from 'node:crypto';
import sharp, { type Metadata, type Sharp } from 'sharp';
import type { ImageRules } from '@tributary/contracts';
import type { ImageCeilings, ImageProcessor, ImageResult } from '../domain/ports.ts';

// One libvips thread per decode: images are processed IMAGE_CONCURRENCY at a time instead, and the
// output does not depend on how work was split.
sharp.concurrency(1);
sharp.cache(false);

/**
 * Decodes every image to its last byte (a truncated or corrupt file fails here, not downstream),
 * checks it against the contract, and writes its canonical form: EXIF orientation applied,
 * converted to sRGB (through the embedded ICC profile, if any), longest side bounded, 8 bits per
 * channel, then encoded from the raw pixels with fixed encoder settings, so nothing of the source
 * file but its pixels reaches the output (no density, text, EXIF, ICC, gamma or time chunk): the
 * same pixels always give the same bytes. The name is the SHA-256 of those bytes.
 */
export class SharpImageProcessor implements ImageProcessor {
  async canonicalise(bytes: Buffer, rules: ImageRules, ceilings: ImageCeilings): Promise<ImageResult> {
    const maxBytes = Math.min(rules.max_bytes, ceilings.maxBytes);
    if (bytes.length > maxBytes) {
      return { ok: false, reason: `image is ${bytes.length} bytes, more than the ${maxBytes} allowed` };
    }
    const maxPixels = Math.min(rules.max_width * rules.max_height, ceilings.maxPixels);
    let meta: Metadata;
    try {
      meta = await sharp(bytes, { limitInputPixels: maxPixels }).metadata();
    } catch (err) {
      return { ok: false, reason: `image cannot be decoded: ${message(err)}` };
    }
    const format: string | undefined = meta.format;
    if (!format || !(rules.formats as string[]).includes(format)) {
      return {
        ok: false,
        reason: `image format ${format ?? 'unknown'} is not one of ${rules.formats.join(', ')}`,
      };
    }
    // Orientations 5-8 swap the sides: bounds apply to the image as it is meant to be seen.
    const swap = (meta.orientation ?? 1) >= 5;
    const width = swap ? meta.height : meta.width;
    const height = swap ? meta.width : meta.height;
    if (
      width === undefined ||
      height === undefined ||
      width < rules.min_width ||
      height < rules.min_height ||
      width > rules.max_width ||
      height > rules.max_height
    ) {
      return {
        ok: false,
        reason: `image is ${width}x${height} pixels, outside ${rules.min_width}x${rules.min_height} to ${rules.max_width}x${rules.max_height}`,
      };
    }
    let out: Buffer;
    try {
      const side = rules.canonical.max_side;
      const pipeline = sharp(bytes, { failOn: 'error', limitInputPixels: maxPixels, animated: false })
        .rotate()
        .resize({ width: side, height: side, fit: 'inside', withoutEnlargement: true })
        .toColourspace('srgb');
      // Encode from the decoded pixels alone: an encoder fed the decoded image would still write
      // what libvips carried over from the source (PNG pHYs / JPEG JFIF density from its
      // resolution), so two files with the same pixels would give different canonical bytes.
      const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
      const pixels = sharp(data, {
        raw: { width: info.width, height: info.height, channels: info.channels },
      });
      out = await encode(pixels, rules.canonical.format).toBuffer();
    } catch (err) {
      return { ok: false, reason: `image is truncated or corrupt: ${message(err)}` };
    }
    const sha256 = createHash('sha256').update(out).digest('hex');
    return {
      ok: true,
      bytes: out,
      relpath: `images/${sha256}.${rules.canonical.format === 'jpeg' ? 'jpg' : rules.canonical.format}`,
      md5: createHash('md5').update(out).digest('hex'),
      size: out.length,
    };
  }
}

function encode(pipeline: Sharp, format: ImageRules['canonical']['format']): Sharp {
  switch (format) {
    case 'png':
      return pipeline.png({ compressionLevel: 9, adaptiveFiltering: false, palette: false });
    case 'webp':
      return pipeline.webp({ lossless: true, effort: 4 });
    case 'jpeg':
      return pipeline.jpeg({ quality: 90, mozjpeg: false, chromaSubsampling: '4:2:0' });
  }
}

function message(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 200);
}

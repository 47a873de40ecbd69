/**
 * Canonical images depend on the pixels alone: the same pixels saved with other metadata (density,
 * text chunks, EXIF) give the same canonical bytes and so the same content hash and file name.
 * Runs the service's real image adapter (sharp/libvips).
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { describe, expect, it } from 'vitest';
import { imageRulesSchema, type ImageRules } from '@tributary/contracts';
import { SharpImageProcessor } from '../src/data-access/images.ts';

const W = 48;
const H = 32;
/** Pixels with structure (not a flat colour), so an encoder difference would show. */
const PIXELS = Buffer.from(Array.from({ length: W * H * 3 }, (_, i) => (i * 37 + (i >> 7)) % 251));
const pixels = () => sharp(PIXELS, { raw: { width: W, height: H, channels: 3 } });

/** `png` with one more chunk (e.g. tEXt) before IEND. */
function withChunk(png: Buffer, type: string, data: Buffer): Buffer {
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write(type, 4, 'latin1');
  data.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'latin1'), data])) >>> 0, 8 + data.length);
  const iend = png.length - 12;
  return Buffer.concat([png.subarray(0, iend), chunk, png.subarray(iend)]);
}

async function sameSourcePixels(format: 'png' | 'jpeg'): Promise<Record<string, Buffer>> {
  const enc = (s: Sharp) => (format === 'png' ? s.png() : s.jpeg({ quality: 95 }));
  const plain = await enc(pixels()).toBuffer();
  const out: Record<string, Buffer> = {
    plain,
    'density 300 dpi': await enc(pixels().withMetadata({ density: 300 })).toBuffer(),
    'density 72 dpi': await enc(pixels().withMetadata({ density: 72 })).toBuffer(),
    EXIF: await enc(
      pixels().withExif({ IFD0: { Copyright: 'field team', Software: 'camera 1.2', Artist: 'someone' } }),
    ).toBuffer(),
  };
  if (format === 'png') {
    out['tEXt chunk'] = withChunk(plain, 'tEXt', Buffer.from('Comment\u0000taken on the beach', 'latin1'));
    out['tIME chunk'] = withChunk(plain, 'tIME', Buffer.from([0x07, 0xea, 12, 3, 11, 22, 33]));
  }
  return out;
}

const rules = (format: ImageRules['canonical']['format']): ImageRules =>
  imageRulesSchema.parse({ canonical: { format, max_side: 512 } });
const ceilings = { maxBytes: 64 * 1024 * 1024, maxPixels: 100_000_000 };

describe('canonical images', () => {
  for (const source of ['png', 'jpeg'] as const) {
    for (const target of ['png', 'webp', 'jpeg'] as const) {
      it(`when the same pixels come as ${source} files with different metadata, then the canonical ${target} bytes and content hash are identical`, async () => {
        const files = await sameSourcePixels(source);
        // The sources really differ, byte for byte.
        const sourceHashes = new Set(
          Object.values(files).map((b) => createHash('sha256').update(b).digest('hex')),
        );
        expect(sourceHashes.size).toBe(Object.keys(files).length);

        const processor = new SharpImageProcessor();
        const results: Record<string, string> = {};
        let first: Buffer | undefined;
        for (const [name, bytes] of Object.entries(files)) {
          const r = await processor.canonicalise(bytes, rules(target), ceilings);
          if (!r.ok) throw new Error(`${name}: ${r.reason}`);
          results[name] = r.relpath;
          expect(r.relpath).toBe(
            `images/${createHash('sha256').update(r.bytes).digest('hex')}.${target === 'jpeg' ? 'jpg' : target}`,
          );
          first ??= r.bytes;
          expect(r.bytes.equals(first), `${name} gives other bytes than plain`).toBe(true);
        }
        expect(new Set(Object.values(results)).size, JSON.stringify(results)).toBe(1);
        // Nothing of the sources' metadata is carried over.
        const meta = await sharp(first).metadata();
        expect(meta.exif).toBeUndefined();
        expect(meta.icc).toBeUndefined();
        expect(meta.comments ?? []).toEqual([]);
      });
    }
  }

  it('when two images differ by one pixel, then their canonical forms differ', async () => {
    const other = Buffer.from(PIXELS);
    other[0] = (other[0]! + 1) % 256;
    const processor = new SharpImageProcessor();
    const a = await processor.canonicalise(await pixels().png().toBuffer(), rules('png'), ceilings);
    const b = await processor.canonicalise(
      await sharp(other, { raw: { width: W, height: H, channels: 3 } })
        .png()
        .toBuffer(),
      rules('png'),
      ceilings,
    );
    expect(a.ok && b.ok && a.relpath !== b.relpath).toBe(true);
  });
});

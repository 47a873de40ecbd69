import { describe, expect, it } from 'vitest';
import { seededRandom, stratifiedSample } from '../src/domain/stats.ts';

describe('stratified sampling', () => {
  it('when a stratum holds hundreds of thousands of rows, then half of each is kept, in source order', () => {
    // Sizes where spreading an array into push() overflows the call stack.
    const rows = Array.from({ length: 300_000 }, (_, i) => ({
      id: i,
      label: i % 10 === 0 ? 'rare' : 'common',
    }));
    const sample = stratifiedSample(rows, 'label', 0.5, seededRandom(7));
    expect(sample.filter((r) => r.label === 'common')).toHaveLength(135_000);
    expect(sample.filter((r) => r.label === 'rare')).toHaveLength(15_000);
    const ids = sample.map((r) => r.id as number);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('when the seed is the same, then the sample is the same, and a tiny stratum keeps one row', () => {
    const rows = Array.from({ length: 1000 }, (_, i) => ({
      id: i,
      label: i === 999 ? 'alone' : `s${i % 3}`,
    }));
    const first = stratifiedSample(rows, 'label', 0.1, seededRandom(42)).map((r) => r.id);
    const again = stratifiedSample(rows, 'label', 0.1, seededRandom(42)).map((r) => r.id);
    const other = stratifiedSample(rows, 'label', 0.1, seededRandom(43)).map((r) => r.id);
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
    expect(first).toContain(999);
  });
});

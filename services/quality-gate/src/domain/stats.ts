import type { Random, Row } from './ports.ts';

/** mulberry32: a small, fast, seeded PRNG; the same seed gives the same candidate. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Keeps `fraction` of each stratum (at least one row), chosen by a seeded shuffle; rows keep their
 * source order so that the candidate is byte-identical for the same inputs and seed.
 */
export function stratifiedSample(
  rows: readonly Row[],
  column: string,
  fraction: number,
  random: Random,
): Row[] {
  const strata = new Map<string, number[]>();
  rows.forEach((row, i) => {
    const key = cell(row[column]);
    const stratum = strata.get(key);
    if (stratum) stratum.push(i);
    else strata.set(key, [i]);
  });
  const kept: number[] = [];
  for (const key of [...strata.keys()].sort()) {
    const idx = [...strata.get(key)!];
    for (let i = idx.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    // A loop, not push(...): spreading a large stratum overflows the call stack.
    for (const i of idx.slice(0, Math.max(1, Math.ceil(idx.length * fraction)))) kept.push(i);
  }
  return kept.sort((a, b) => a - b).map((i) => rows[i]!);
}

/** Distinct word bigrams over all bigrams of a text column (1 when there are none). */
export function distinctBigramRatio(texts: readonly string[]): number {
  const seen = new Set<string>();
  let total = 0;
  for (const text of texts) {
    const words = text.toLowerCase().split(/\s+/).filter(Boolean);
    for (let i = 0; i + 1 < words.length; i++) {
      seen.add(`${words[i]} ${words[i + 1]}`);
      total++;
    }
  }
  return total === 0 ? 1 : seen.size / total;
}

/** Population stability index of observed category shares vs expected ones. */
export function psi(expected: Record<string, number>, observed: readonly string[]): number {
  const counts = new Map<string, number>();
  for (const v of observed) counts.set(v, (counts.get(v) ?? 0) + 1);
  return psiFromCounts(expected, counts);
}

/** PSI from the observed count of each category (what an engine's GROUP BY answers). */
export function psiFromCounts(expected: Record<string, number>, counts: ReadonlyMap<string, number>): number {
  const eps = 1e-4;
  let observedTotal = 0;
  for (const n of counts.values()) observedTotal += n;
  const expTotal = Object.values(expected).reduce((a, b) => a + b, 0) || 1;
  const categories = new Set([...Object.keys(expected), ...counts.keys()]);
  let sum = 0;
  for (const c of categories) {
    const e = Math.max((expected[c] ?? 0) / expTotal, eps);
    const o = Math.max((counts.get(c) ?? 0) / (observedTotal || 1), eps);
    sum += (o - e) * Math.log(o / e);
  }
  return sum;
}

/** Two-sample Kolmogorov–Smirnov statistic: the largest gap between the empirical CDFs. */
export function ksStatistic(a: readonly number[], b: readonly number[]): number {
  if (a.length === 0 || b.length === 0) return a.length === b.length ? 0 : 1;
  const x = [...a].sort((p, q) => p - q);
  const y = [...b].sort((p, q) => p - q);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i]!, y[j]!);
    while (i < x.length && x[i]! <= v) i++;
    while (j < y.length && y[j]! <= v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}

/** A cell as a category label: strings as they are, other scalars printed, objects as JSON. */
export function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

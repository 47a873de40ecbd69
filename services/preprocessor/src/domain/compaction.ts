/** Settings of the tiered compaction (see docs/data-pipeline.md). */
export interface CompactionPolicy {
  /** Parts of one tier merged together once there are this many. */
  fanout: number;
  /** Parts below this many rows are tier 0; each further tier is `fanout` times larger. */
  baseRows: number;
  /** Parts this large are left alone. */
  maxPartRows: number;
}

export interface PartInfo {
  partNo: number;
  rows: number;
}

/** The size tier of a part: 0 below baseRows, then one more per factor of `fanout`. */
export function tierOf(rows: number, policy: CompactionPolicy): number {
  if (rows < policy.baseRows) return 0;
  return Math.floor(Math.log(rows / policy.baseRows) / Math.log(policy.fanout)) + 1;
}

/**
 * The parts to merge into one, or none. Size-tiered like an LSM tree: once `fanout` parts share a
 * tier, the oldest `fanout` of the lowest full tier become one part of the next tier. A row is thus
 * rewritten about log_fanout(master / baseRows) times over its life, and a master holds at most
 * about `fanout` parts per tier; one compaction per merge keeps each merge's extra work bounded.
 */
export function planCompaction(parts: readonly PartInfo[], policy: CompactionPolicy): number[] {
  const byTier = new Map<number, PartInfo[]>();
  for (const p of parts) {
    if (p.rows >= policy.maxPartRows) continue;
    const tier = tierOf(p.rows, policy);
    byTier.set(tier, [...(byTier.get(tier) ?? []), p]);
  }
  for (const tier of [...byTier.keys()].sort((a, b) => a - b)) {
    const members = byTier.get(tier)!.sort((a, b) => a.partNo - b.partNo);
    if (members.length >= policy.fanout) return members.slice(0, policy.fanout).map((p) => p.partNo);
  }
  return [];
}

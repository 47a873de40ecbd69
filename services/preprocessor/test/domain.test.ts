import { describe, expect, it } from 'vitest';
import { contractSchema } from '@tributary/contracts';
import { planCompaction, tierOf } from '../src/domain/compaction.ts';
import { decideFate } from '../src/domain/fate.ts';

const policy = { fanout: 4, baseRows: 100, maxPartRows: 100_000 };

describe('tiered compaction', () => {
  it('when a tier holds fanout parts, then its oldest fanout parts are merged, lowest tier first', () => {
    const parts = [
      { partNo: 1, rows: 500 },
      { partNo: 2, rows: 50 },
      { partNo: 3, rows: 60 },
      { partNo: 4, rows: 450 },
      { partNo: 5, rows: 70 },
      { partNo: 6, rows: 300 },
      { partNo: 7, rows: 20 },
      { partNo: 8, rows: 200 },
      { partNo: 9, rows: 10 },
    ];
    expect(parts.map((p) => tierOf(p.rows, policy))).toEqual([2, 0, 0, 2, 0, 1, 0, 1, 0]);
    expect(planCompaction(parts, policy)).toEqual([2, 3, 5, 7]);
    expect(planCompaction(parts.slice(0, 6), policy)).toEqual([]);
  });

  it('when parts reach the maximum size, then they are never compacted again', () => {
    const big = [1, 2, 3, 4].map((partNo) => ({ partNo, rows: 100_000 }));
    expect(planCompaction(big, policy)).toEqual([]);
  });
});

describe('batch fate', () => {
  const contract = (on_bad_rows: 'quarantine' | 'reject_batch') =>
    contractSchema.parse({
      name: 'c',
      version: '1.0.0',
      primary_key: ['id'],
      on_bad_rows,
      max_bad_row_ratio: 0.25,
      columns: [{ name: 'id', type: 'string' }],
    });

  it.each([
    ['quarantine', 100, 0, 'merge', false],
    ['quarantine', 100, 25, 'merge', true],
    ['quarantine', 100, 26, 'PRE_ERR_TOO_MANY_BAD_ROWS', false],
    ['quarantine', 0, 0, 'PRE_ERR_EMPTY_BATCH', false],
    ['reject_batch', 100, 1, 'PRE_ERR_CONTRACT_VIOLATION', false],
    ['reject_batch', 100, 0, 'merge', false],
  ] as const)(
    'when the policy is %s with %i rows of which %i bad, then the fate is %s',
    (policy, total, bad, kind, partial) => {
      const fate = decideFate(contract(policy), total, bad);
      if (kind === 'merge') expect(fate).toEqual({ kind: 'merge', partial });
      else expect(fate).toMatchObject({ kind: 'reject', code: kind });
    },
  );
});

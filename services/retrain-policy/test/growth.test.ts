import { describe, expect, it } from 'vitest';
import { compareGrowth } from '../src/domain/decide-retrain.ts';

describe('the threshold rule', () => {
  it.each([
    // current rows, master_rows of the last compatible run, threshold, requested, new rows
    [344, 200, 100, true, 144],
    [300, 200, 100, true, 100],
    [299, 200, 100, false, 99],
    [200, 200, 0, true, 0],
    [150, 200, 0, false, -50],
  ])(
    'when the master has %i rows, the last compatible run %i and the threshold is %i, then requested is %s with new_rows %i',
    (current, last, threshold, requested, newRows) => {
      const decision = compareGrowth(current, last, threshold, 'run-1');
      expect(decision).toMatchObject({ requested, newRows, lastRunMasterRows: last });
      expect(decision.outcome).toBe(requested ? 'threshold_reached' : 'below_threshold');
    },
  );

  it('when the master shrank below the last run, then the reason says so', () => {
    expect(compareGrowth(150, 200, 0, 'run-1').reason).toBe(
      'new_rows -50 = 150 master rows - 200 of run run-1; -50 < threshold 0 (the master has fewer rows than that run was trained on)',
    );
  });
});

import type { DataContract } from '@tributary/contracts';

export type BatchFate =
  { kind: 'merge'; partial: boolean } | { kind: 'reject'; code: string; reason: string };

/**
 * What the contract's policy makes of a batch with `bad` bad rows out of `total`:
 * reject_batch → any bad row rejects it; quarantine → the good rows merge, unless the share of bad
 * rows is above max_bad_row_ratio. A batch with no good row has nothing to merge and is rejected.
 */
export function decideFate(contract: DataContract, total: number, bad: number): BatchFate {
  if (total === 0) return { kind: 'reject', code: 'PRE_ERR_EMPTY_BATCH', reason: 'the batch has no rows' };
  if (bad === 0) return { kind: 'merge', partial: false };
  const what = `${bad} of ${total} rows break contract ${contract.name}@${contract.version}`;
  if (contract.on_bad_rows === 'reject_batch') {
    return {
      kind: 'reject',
      code: 'PRE_ERR_CONTRACT_VIOLATION',
      reason: `${what}; the contract rejects the batch`,
    };
  }
  if (bad === total)
    return { kind: 'reject', code: 'PRE_ERR_CONTRACT_VIOLATION', reason: `${what}: no row is left` };
  if (bad / total > contract.max_bad_row_ratio) {
    return {
      kind: 'reject',
      code: 'PRE_ERR_TOO_MANY_BAD_ROWS',
      reason: `${what}, above the ${contract.max_bad_row_ratio} ratio the contract tolerates`,
    };
  }
  return { kind: 'merge', partial: true };
}

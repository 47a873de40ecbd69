/**
 * How long archives are kept: the retention_days of the dataset declaring each evaluation set, the
 * deployment's ARCHIVE_RETENTION_DAYS for the others. It follows the catalog as it is now: a
 * re-applied retention applies to the archives already made too (the sweeper and the S3 rules read it).
 */
export interface RetentionPolicy {
  defaultDays: number;
  /** Evaluation set → retention_days of the dataset declaring it. */
  byEvaluationSet: Readonly<Record<string, number>>;
}

/** The retention of the archives of one evaluation set. */
export function retentionDays(policy: RetentionPolicy, evaluationSet: string): number {
  return policy.byEvaluationSet[evaluationSet] ?? policy.defaultDays;
}

/**
 * ID of the publisher's default lifecycle rule, and the start of every ID of its rules (`<this>-<set>`
 * for a declared evaluation set): the rules of the bucket it owns, the others being left as they are.
 */
export const ARCHIVE_RULE_ID = 'tributary-archive-retention';

/** Whether a lifecycle rule ID is one the publisher writes (see ARCHIVE_RULE_ID). */
export function isArchiveRuleId(id: string | undefined): boolean {
  return id !== undefined && (id === ARCHIVE_RULE_ID || id.startsWith(`${ARCHIVE_RULE_ID}-`));
}

/** One S3 lifecycle rule expiring the objects under `prefix` (relative to the store) after `days`. */
export interface LifecycleRule {
  id: string;
  prefix: string;
  days: number;
}

/**
 * The S3 lifecycle rules of the archives: one per declared evaluation set on its own prefix, and one
 * on the whole `archive/` prefix for the others. S3 honours the shortest expiration of overlapping
 * rules, so that default rule is left out as soon as a dataset keeps its archives longer than the
 * default (it would cut them short): the archives of undeclared evaluation sets are then expired by
 * the sweeper alone, as on a store without lifecycle rules.
 */
export function archiveLifecycleRules(policy: RetentionPolicy): LifecycleRule[] {
  const declared = Object.entries(policy.byEvaluationSet)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([set, days]) => ({ id: `${ARCHIVE_RULE_ID}-${set}`, prefix: `archive/${set}/`, days }));
  const defaultRuleFits = declared.every((rule) => rule.days <= policy.defaultDays);
  return [
    ...(defaultRuleFits ? [{ id: ARCHIVE_RULE_ID, prefix: 'archive/', days: policy.defaultDays }] : []),
    ...declared,
  ];
}

import { z } from 'zod';
import { actor, limit, open, timestamp, wholeNumber } from './common.ts';

export const thresholdSetting = z.object({
  name: z.string(),
  value: z.number(),
  updatedAt: timestamp,
  updatedBy: z.string(),
});
export type ThresholdSetting = z.infer<typeof thresholdSetting>;
/** The new value is checked by the service (RTP_ERR_INVALID_THRESHOLD names what is wrong). */
export const thresholdBody = z
  .object({ value: z.unknown(), actor: actor.optional() })
  .default({ value: undefined });
export const thresholdChange = z.object({
  id: z.string(),
  name: z.string(),
  oldValue: z.number().nullable(),
  newValue: z.number(),
  actor: z.string(),
  tokenName: z.string().nullable(),
  changedAt: timestamp,
});
export type ThresholdChange = z.infer<typeof thresholdChange>;
export const thresholdAudit = z.object({ changes: z.array(thresholdChange) });
export const auditQuery = z.object({ limit: limit() });

export const decisionsQuery = z.object({
  dataset: z.string().min(1).optional(),
  master_version: wholeNumber.optional(),
  model_name: z.string().min(1).optional(),
  limit: limit(),
});
export const decisionParams = z.object({ id: z.string().min(1) });
/** A stored retrain decision (the decision fields pass as the service records them). */
export const decision = open({
  id: z.string(),
  dataset: z.string(),
  masterVersion: z.number(),
  modelName: z.string().nullable().optional(),
  runId: z.string(),
  outcome: z.string(),
  requested: z.boolean(),
  reason: z.string(),
  decidedAt: timestamp,
  retrainEventId: z.string().nullable(),
});
export type Decision = z.infer<typeof decision>;
export const decisionList = z.object({ decisions: z.array(decision) });

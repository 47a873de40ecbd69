import { z } from 'zod';
import { csv } from '@tributary/config';

/** The seed's "2 attempts with exponential backoff (2, 10 minutes)": the delay before each retry. */
export const SEED_RETRY_DELAYS_MS: readonly number[] = Object.freeze([120_000, 600_000]);

/**
 * When a failed attempt of a job is tried again: one delay per retry, after which the work has
 * failed for good (its handler ends it: marks it failed, pages). The one declaration every
 * durable job of the platform follows; settings override the delays (tests shorten them).
 */
export interface RetryPolicy {
  readonly delaysMs: readonly number[];
}

export function retryPolicy(delaysMs: readonly number[] = SEED_RETRY_DELAYS_MS): RetryPolicy {
  return Object.freeze({ delaysMs: Object.freeze([...delaysMs]) });
}

/** The delay before the retry of attempt `attempt` (1-based); undefined when it was the last. */
export function retryDelay(policy: RetryPolicy, attempt: number): number | undefined {
  return policy.delaysMs[attempt - 1];
}

/**
 * A `*_RETRY_DELAYS_MS` setting: comma-separated milliseconds, one per retry, the seed's 2 and 10
 * minutes by default.
 */
export function retryDelaysSetting(what: string) {
  return csv()
    .pipe(z.array(z.string().regex(/^\d+$/, 'expected milliseconds').transform(Number)))
    .default([...SEED_RETRY_DELAYS_MS])
    .describe(`Delay before each retry of ${what} (one entry per retry)`);
}

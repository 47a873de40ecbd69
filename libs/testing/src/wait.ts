import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `probe` until it returns a non-undefined value or the timeout passes. An error for which
 * `stopOn` holds ends the wait at once; other errors are kept and named if the wait times out.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string; stopOn?: (err: unknown) => boolean } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      if (opts.stopOn?.(err)) throw err;
      lastError = err;
    }
    await sleep(opts.intervalMs ?? 100);
  }
  throw new Error(
    `timed out waiting for ${opts.what ?? 'condition'}${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
  );
}

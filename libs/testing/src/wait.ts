import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `probe` until it returns a non-undefined value or the timeout passes. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await sleep(opts.intervalMs ?? 100);
  }
  throw new Error(
    `timed out waiting for ${opts.what ?? 'condition'}${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
  );
}

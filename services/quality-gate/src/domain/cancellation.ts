import { AppError } from '@tributary/errors';

const CODE = 'QG_ERR_RUN_CANCELLED';

/** What aborts a run's engine work when an operator cancels it: not retriable, with their reason. */
export function runCancelled(datasetVersion: string, reason: string): AppError {
  return new AppError(CODE, `run ${datasetVersion} was cancelled (${reason})`, { retriable: false });
}

/**
 * The cancellation that aborted `signal`, if a cancel (not the engine_timeout) did: engines stop
 * their work on either, and report each as what it is.
 */
export function cancellationOf(signal: AbortSignal | undefined): AppError | undefined {
  const reason: unknown = signal?.aborted ? signal.reason : undefined;
  return reason instanceof AppError && reason.code === CODE ? reason : undefined;
}

/** Throws the run's cancellation when one aborted `signal` (a task boundary of an engine). */
export function throwIfCancelled(signal: AbortSignal): void {
  const cancelled = cancellationOf(signal);
  if (cancelled) throw cancelled;
}

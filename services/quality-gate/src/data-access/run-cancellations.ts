import type { Logger } from '@tributary/telemetry';
import { runCancelled } from '../domain/cancellation.ts';
import type { RunCancellation, RunCancellations } from '../domain/ports.ts';

interface Watched {
  controller: AbortController;
  watchers: number;
}

/**
 * The runs this replica executes, watched for a cancel: the admin route of this replica aborts a run
 * at once (`cancelled`); a cancel made on another replica is read from Postgres every `pollMs`, in one
 * query for all the runs executing here, and only while some are.
 */
export class PolledRunCancellations implements RunCancellations {
  private readonly store: { cancelledAmong(versions: readonly string[]): Promise<Map<string, string>> };
  private readonly pollMs: number;
  private readonly logger: Logger;
  private readonly watched = new Map<string, Watched>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    store: { cancelledAmong(versions: readonly string[]): Promise<Map<string, string>> },
    pollMs: number,
    logger: Logger,
  ) {
    this.store = store;
    this.pollMs = pollMs;
    this.logger = logger;
  }

  watch(datasetVersion: string): RunCancellation {
    const entry = this.watched.get(datasetVersion) ?? { controller: new AbortController(), watchers: 0 };
    entry.watchers++;
    this.watched.set(datasetVersion, entry);
    this.schedule();
    let stopped = false;
    return {
      signal: entry.controller.signal,
      cancelled: async () => {
        if (entry.controller.signal.aborted) return entry.controller.signal.reason as Error;
        const reason = (await this.store.cancelledAmong([datasetVersion])).get(datasetVersion);
        if (reason !== undefined) this.cancelled(datasetVersion, reason);
        return entry.controller.signal.aborted ? (entry.controller.signal.reason as Error) : undefined;
      },
      stop: () => {
        if (stopped) return;
        stopped = true;
        if (--entry.watchers === 0 && this.watched.get(datasetVersion) === entry) {
          this.watched.delete(datasetVersion);
        }
      },
    };
  }

  /** Aborts the run's engine work if it executes here (after the store recorded the cancel). */
  cancelled(datasetVersion: string, reason: string): void {
    const entry = this.watched.get(datasetVersion);
    if (entry && !entry.controller.signal.aborted) {
      entry.controller.abort(runCancelled(datasetVersion, reason));
    }
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.poll().finally(() => {
        if (this.watched.size > 0) this.schedule();
      });
    }, this.pollMs);
    // A watched run keeps the process busy by itself; the poll must not keep it alive.
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    const versions = [...this.watched.keys()];
    if (versions.length === 0) return;
    try {
      for (const [version, reason] of await this.store.cancelledAmong(versions)) {
        this.cancelled(version, reason);
      }
    } catch (err) {
      this.logger.warn({ err }, 'cancelled refresh runs not read; read again at the next poll');
    }
  }
}

import { watch, type FSWatcher } from 'node:fs';
import fs from 'node:fs/promises';
import type { Worker, WorkerTick } from '@tributary/runtime';
import { Instrumentation, withSpan, type Logger, type RemoveListener } from '@tributary/telemetry';
import type { FsLandingZone } from '../../data-access/landing-zone.ts';
import {
  announceLandingBatch,
  settleLandingBatch,
  takeLandingBatch,
  type LandingDeps,
} from '../../domain/landing-batch.ts';
import type { LandingEntry } from '../../domain/ports.ts';

export interface LandingWatcherOptions {
  zone: FsLandingZone;
  deps: LandingDeps;
  logger: Logger;
  scanIntervalMs: number;
  /** Age after which a `_PROCESSING` marker that was never filled in is taken over. */
  claimTimeoutMs: number;
}

const DEBOUNCE_MS = 100;

/**
 * Keeps the seed's landing-zone protocol working, within seconds instead of every 5 minutes:
 * file-system notifications on the landing folders trigger a scan at once, and a periodic scan
 * catches what notifications miss (network file systems, a watcher that was down). Each scan takes
 * new `_READY` batches and settles `_PROCESSING` ones whose ingest was decided. Any number of
 * replicas can watch the same folder: the `_READY` rename lets exactly one of them take a batch.
 */
export class LandingWatcher implements Worker {
  readonly name = 'landing-watcher';
  private readonly watchers = new Map<string, FSWatcher>();
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly opts: LandingWatcherOptions;
  private readonly instrumentation = new Instrumentation<{ tick: WorkerTick }>();

  constructor(opts: LandingWatcherOptions) {
    this.opts = opts;
  }

  async start(): Promise<void> {
    await fs.mkdir(this.opts.zone.root, { recursive: true });
    this.timer = setInterval(() => this.requestScan(), this.opts.scanIntervalMs);
    this.requestScan();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.debounce);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    await this.running;
  }

  /** Announces each finished scan (settled: it did not fail). */
  on(name: 'tick', listener: (tick: WorkerTick) => void): RemoveListener {
    return this.instrumentation.on(name, listener);
  }

  /** Runs a scan now, or right after the one in progress: scans never overlap. */
  requestScan(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.scanLoop().finally(() => {
      this.running = undefined;
    });
  }

  private async scanLoop(): Promise<void> {
    do {
      this.again = false;
      const startedAt = Date.now();
      try {
        await this.scanOnce();
        this.instrumentation.emit('tick', { startedAt, settled: true });
      } catch (err) {
        this.opts.logger.error({ err }, 'landing-zone scan failed; the next scan retries');
        this.instrumentation.emit('tick', { startedAt, settled: false });
      }
    } while (this.again && !this.stopped);
  }

  private async scanOnce(): Promise<void> {
    const entries = await this.opts.zone.scan();
    for (const entry of entries) {
      if (this.stopped) return;
      try {
        await this.handle(entry);
      } catch (err) {
        this.opts.logger.error(
          { err, landing_folder: entry.folder, batch_id: entry.batchId },
          'landing batch failed',
        );
      }
    }
    if (!this.stopped) await this.updateWatches(entries);
  }

  private async handle(entry: LandingEntry): Promise<void> {
    const { deps, logger } = this.opts;
    const ref = { folder: entry.folder, batchId: entry.batchId };
    if (entry.ready) {
      await this.inRun('landing.take', entry, (runId) =>
        this.withHeartbeat(entry, () => takeLandingBatch(deps, ref, { runId, log: logger })),
      );
      return;
    }
    const processing = entry.processing;
    if (!processing) return;
    if (processing.claim) {
      await settleLandingBatch(deps, ref, processing.claim, logger);
    } else if (
      processing.ageMs > this.opts.claimTimeoutMs &&
      (await this.opts.zone.takeOver(ref, processing.changedAtMs))
    ) {
      // The watcher that renamed _READY died before it announced the batch: announce it again
      // (the ingest is idempotent, so a late duplicate announcement is acknowledged, not redone).
      logger.warn({ batch_id: entry.batchId, age_ms: processing.ageMs }, 'took over a stale landing claim');
      await this.inRun('landing.takeover', entry, (runId) =>
        this.withHeartbeat(entry, () => announceLandingBatch(deps, ref, { runId, log: logger })),
      );
    }
  }

  /** Keeps a claim fresh while a large batch is hashed, so no other watcher thinks it stale. */
  private async withHeartbeat<T>(entry: LandingEntry, fn: () => Promise<T>): Promise<T> {
    const ref = { folder: entry.folder, batchId: entry.batchId };
    const beat = setInterval(
      () => void this.opts.zone.touch(ref).catch(() => undefined),
      Math.max(100, Math.floor(this.opts.claimTimeoutMs / 3)),
    );
    try {
      return await fn();
    } finally {
      clearInterval(beat);
    }
  }

  /** One trace per landing batch: its id is the run id the batch carries through the pipeline. */
  private inRun<T>(name: string, entry: LandingEntry, fn: (runId: string) => Promise<T>): Promise<T> {
    return withSpan(
      name,
      { 'tributary.landing_folder': entry.folder, 'tributary.batch_id': entry.batchId },
      (span) => fn(span.spanContext().traceId),
    );
  }

  /** Watches the root, each landing folder and each unfinished batch folder (non-recursive, Linux-safe). */
  private async updateWatches(entries: LandingEntry[]): Promise<void> {
    const wanted = new Set(await this.opts.zone.watchedDirs(entries));
    for (const [dir, w] of this.watchers) {
      if (!wanted.has(dir)) {
        w.close();
        this.watchers.delete(dir);
      }
    }
    for (const dir of wanted) {
      if (this.watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, () => this.onChange());
        w.on('error', () => {
          w.close();
          this.watchers.delete(dir);
        });
        this.watchers.set(dir, w);
      } catch {
        // Gone already, or notifications unsupported here: the periodic scan covers it.
      }
    }
  }

  private onChange(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => this.requestScan(), DEBOUNCE_MS);
  }
}

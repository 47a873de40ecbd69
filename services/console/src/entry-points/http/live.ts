import type { ServerResponse } from 'node:http';
import type { Logger } from '@tributary/telemetry';
import { batchChanges, type ListedBatch } from '../../domain/batch-changes.ts';

export interface LiveBatchesOptions {
  /** The latest batches, newest first (the ingestor's admin list). */
  fetch: () => Promise<ListedBatch[]>;
  pollMs: number;
  logger: Logger;
}

/**
 * The live batch list: while someone watches, polls the ingestor and pushes each new or changed
 * batch to every watcher as a server-sent event (`batch`); a new watcher first gets the whole list
 * (`snapshot`). Polling rather than a consumer group of its own: the ingestor's table already
 * holds every stage of a batch, each replica of the console sees all of it, and the console adds
 * no consumer group to watch.
 */
export class LiveBatches {
  private readonly opts: LiveBatchesOptions;
  private readonly watchers = new Set<ServerResponse>();
  private snapshot = new Map<string, string>();
  private latest: ListedBatch[] | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(opts: LiveBatchesOptions) {
    this.opts = opts;
  }

  async watch(res: ServerResponse): Promise<void> {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    this.watchers.add(res);
    res.on('close', () => {
      this.watchers.delete(res);
      if (this.watchers.size === 0) this.stopPolling();
    });
    this.timer ??= setInterval(() => void this.poll(), this.opts.pollMs);
    // A list already known goes out at once; otherwise the poll sends it to every watcher.
    if (this.latest) send(res, 'snapshot', this.latest);
    else await this.poll();
  }

  /** Ends every stream (the server is stopping). */
  close(): void {
    this.stopPolling();
    for (const res of this.watchers) res.end();
    this.watchers.clear();
  }

  private stopPolling(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.latest = undefined;
    this.snapshot = new Map();
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const list = await this.opts.fetch();
      const { changed, snapshot } = batchChanges(this.snapshot, list);
      const first = this.latest === undefined;
      this.snapshot = snapshot;
      this.latest = list;
      // The first list read (also after the ingestor was down) is everyone's snapshot.
      if (first) this.broadcast('snapshot', list);
      else for (const batch of changed.reverse()) this.broadcast('batch', batch);
    } catch (err) {
      this.opts.logger.warn({ err }, 'live batch list: the ingestor could not be read');
      this.broadcast('problem', { message: err instanceof Error ? err.message : String(err) });
    } finally {
      this.polling = false;
    }
  }

  private broadcast(event: string, data: unknown): void {
    for (const res of this.watchers) send(res, event, data);
  }
}

function send(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

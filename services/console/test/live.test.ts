/**
 * The live batch list over a real HTTP connection: a watcher gets the list as a snapshot, then each
 * new or changed batch; when the ingestor cannot be read it is told so, and gets the list once the
 * ingestor answers again.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@tributary/telemetry';
import { waitFor } from '@tributary/testing';
import type { ListedBatch } from '../src/domain/batch-changes.ts';
import { LiveBatches } from '../src/entry-points/http/live.ts';

/** What the ingestor answers next: a list, or an outage. */
let answer: ListedBatch[] | Error = new Error('connect ECONNREFUSED');
let server: Server;
let live: LiveBatches;
let url = '';

beforeAll(async () => {
  live = new LiveBatches({
    fetch: () => (answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer)),
    pollMs: 50,
    logger: createLogger({ serviceName: 'console-test', level: 'silent' }),
  });
  server = createServer((_req, res) => void live.watch(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  live.close();
  await new Promise((resolve) => server.close(resolve));
});

/** Reads server-sent events from a stream into a list as they arrive. */
function collect(body: ReadableStream<Uint8Array>): { event: string; data: unknown }[] {
  const events: { event: string; data: unknown }[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  void (async () => {
    for await (const chunk of body) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
      }
    }
  })().catch(() => undefined);
  return events;
}

describe('live batches', () => {
  it('when the ingestor is down and then answers, then the watcher hears of the outage, gets the list, then each change', async () => {
    const controller = new AbortController();
    const res = await fetch(url, { signal: controller.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const events = collect(res.body!);
    await waitFor(() => (events.some((e) => e.event === 'problem') ? true : undefined), {
      what: 'the outage event',
    });

    answer = [{ batch_id: 'b1', status: 'INGESTING' }];
    const snapshot = await waitFor(() => events.find((e) => e.event === 'snapshot'), {
      what: 'the snapshot',
    });
    expect(snapshot.data).toEqual([{ batch_id: 'b1', status: 'INGESTING' }]);

    answer = [
      { batch_id: 'b2', status: 'INGESTING' },
      { batch_id: 'b1', status: 'QUARANTINED' },
    ];
    await waitFor(() => (events.filter((e) => e.event === 'batch').length >= 2 ? true : undefined), {
      what: 'two batch events',
    });
    expect(events.filter((e) => e.event === 'batch').map((e) => e.data)).toEqual([
      { batch_id: 'b1', status: 'QUARANTINED' },
      { batch_id: 'b2', status: 'INGESTING' },
    ]);
    controller.abort();
  });
});

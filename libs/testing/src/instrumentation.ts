import { testKafka } from './kafka.ts';

type Remove = () => void;

/** The part of a consumer runner (`@tributary/kafka`) these waits read. */
export interface AnnouncingRunner {
  readonly groupId: string;
  readonly topics: string[];
  on(
    name: 'committed',
    listener: (commit: { topic: string; partition: number; offset: string }) => void,
  ): Remove;
}

/** The part of a worker (`@tributary/runtime`) these waits read. */
export interface AnnouncingWorker {
  readonly name: string;
  on?(name: 'tick', listener: (tick: { startedAt: number; settled: boolean }) => void): Remove;
}

/** A consumer group and the topics it reads: a service's runner, or one of a service run as a process. */
export interface ConsumerGroup {
  readonly groupId: string;
  readonly topics: string[];
}

/**
 * Resolves once the runner's group has committed, on every partition of its topics, up to the end
 * the partition had when this was called: every message produced before is handled or dead-lettered.
 * This is how a test proves that a duplicate was read and ignored, not that one had no time to show.
 * The broker's committed offsets are the truth; the runner's `committed` events say when to look again.
 * A group without a runner in this process (a service run as a child process) is looked at every 200 ms.
 */
export async function waitForCaughtUp(
  runner: AnnouncingRunner | ConsumerGroup,
  opts: { timeoutMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  const admin = testKafka().admin();
  await admin.connect();
  let wake = () => undefined as void;
  const off = 'on' in runner ? runner.on('committed', () => wake()) : () => undefined;
  const lookEveryMs = 'on' in runner ? 1000 : 200;
  try {
    const ends = new Map<string, bigint>();
    for (const topic of runner.topics) {
      for (const { partition, high } of await admin.fetchTopicOffsets(topic)) {
        if (BigInt(high) > 0n) ends.set(`${topic}:${partition}`, BigInt(high));
      }
    }
    for (;;) {
      const changed = new Promise<void>((resolve) => (wake = resolve));
      const committed = await admin.fetchOffsets({ groupId: runner.groupId, topics: runner.topics });
      const behind = [...ends].filter(([key, high]) => {
        const [topic, partition] = [
          key.slice(0, key.lastIndexOf(':')),
          Number(key.slice(key.lastIndexOf(':') + 1)),
        ];
        const at = committed
          .find((t) => t.topic === topic)
          ?.partitions.find((p) => p.partition === partition);
        return at === undefined || BigInt(at.offset) < high;
      });
      if (behind.length === 0) return;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`group ${runner.groupId} still behind on ${behind.map(([k]) => k).join(', ')}`);
      }
      // A commit a runner announces wakes the check; the timer bounds the wait (and covers a commit
      // announced between the read above and this line, which the next read sees).
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([changed, new Promise((r) => (timer = setTimeout(r, Math.min(left, lookEveryMs))))]);
      clearTimeout(timer);
    }
  } finally {
    off();
    await admin.disconnect();
  }
}

/** Resolves at the end of the worker's first settled round that began at or after `since`. */
export function waitForTick(
  worker: AnnouncingWorker,
  since = Date.now(),
  opts: { timeoutMs?: number } = {},
): Promise<void> {
  if (!worker.on) return Promise.reject(new Error(`worker ${worker.name} announces no ticks`));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`worker ${worker.name} had no settled round since ${new Date(since).toISOString()}`));
    }, opts.timeoutMs ?? 30_000);
    const off = worker.on!('tick', (tick) => {
      if (tick.startedAt < since || !tick.settled) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

/**
 * Resolves once a service has done everything its input asked for: its runner has committed past
 * every message produced so far, then each polling worker (the outbox relay, the retry pollers)
 * finished a settled round begun after that. Then a duplicate delivery, send or publication would
 * already have happened; `workers` names the ones to wait for (default: all that announce ticks).
 */
export async function waitForSettled(
  app: { runner: AnnouncingRunner; workers: readonly AnnouncingWorker[] },
  opts: { workers?: string[]; timeoutMs?: number } = {},
): Promise<void> {
  await waitForCaughtUp(app.runner, opts);
  const since = Date.now();
  const workers = app.workers.filter((w) => w.on && (opts.workers?.includes(w.name) ?? true));
  await Promise.all(workers.map((w) => waitForTick(w, since, opts)));
}

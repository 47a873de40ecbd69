/**
 * Restarts of a consuming service as an orchestrator does them: it listens at once (alive, not
 * ready until consuming), a SIGTERM during start-up stops it cleanly, and after a kill -9 the new
 * process consumes again once the short session timeout let the dead member go (it was 30 s).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { commonSchema, loadConfig } from '@tributary/config';
import { batchReady } from '@tributary/events';
import { batchReadyFixture } from '@tributary/events/fixtures';
import {
  freePort,
  isolatedServiceEnv,
  serviceEnv,
  startPrivatePostgres,
  startTsProcess,
  waitFor,
  waitForServing,
  type RunningProcess,
} from '@tributary/testing';
import { createRuntime } from '../src/index.ts';

const fixture = new URL('./fixtures/consumer-service.ts', import.meta.url);
let env = isolatedServiceEnv('restart', { SERVICE_NAME: 'consumer-service', LOG_LEVEL: 'info' });
const procs: RunningProcess[] = [];

afterAll(() => {
  for (const p of procs) p.child.kill('SIGKILL');
});

async function start(extra: Record<string, string> = {}): Promise<{ proc: RunningProcess; port: number }> {
  const port = await freePort();
  const proc = startTsProcess(fixture, serviceEnv({ ...env, HTTP_PORT: String(port), ...extra }));
  procs.push(proc);
  return { proc, port };
}

async function readyz(port: number): Promise<number | undefined> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
  return res?.status;
}

/** Publishes one batch.ready on the test's topics. */
async function publish(batchId: string): Promise<void> {
  const runtime = await createRuntime(
    loadConfig(commonSchema, serviceEnv({ ...env, SERVICE_NAME: 'restart-producer', LOG_LEVEL: 'silent' })),
    {
      migrations: [],
      topics: [batchReady.topic],
    },
  );
  try {
    await runtime.producer.publish(batchReady, { ...batchReadyFixture, batch_id: batchId });
  } finally {
    await runtime.close();
  }
}

describe('restarting a consuming service', () => {
  it('when SIGTERM arrives during start-up, then it stops cleanly and exits 0', async () => {
    const { proc } = await start();
    // The runtime logs "starting" before it registers schemas, migrates and connects.
    await waitFor(() => (proc.stdout().includes('"msg":"starting"') ? true : undefined), {
      timeoutMs: 60_000,
    });
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    expect(proc.stdout()).toContain('shutdown requested');
  });

  it('when SIGTERM arrives while it joins its group, then it exits 0', async () => {
    const { proc, port } = await start();
    await waitForServing(proc, port, { timeoutMs: 90_000, what: 'alive' });
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toEqual({ code: 0, signal: null });
  });

  it('when it is killed with -9, then a new process is alive at once and consumes again within the session timeout', async () => {
    const first = await start();
    await waitForServing(first.proc, first.port, { timeoutMs: 90_000, what: 'consuming', path: '/readyz' });
    await publish('before-kill');
    await waitFor(() => (first.proc.stdout().includes('handled before-kill') ? true : undefined), {
      timeoutMs: 30_000,
    });

    first.proc.child.kill('SIGKILL');
    const killedAt = Date.now();
    const second = await start();
    await waitForServing(second.proc, second.port, { timeoutMs: 90_000, what: 'alive' });
    const aliveAfterMs = Date.now() - killedAt;
    await publish('after-kill');
    await waitFor(() => (second.proc.stdout().includes('handled after-kill') ? true : undefined), {
      timeoutMs: 60_000,
      what: 'the new process handling a message',
    });
    const consumingAfterMs = Date.now() - killedAt;
    process.stdout.write(`kill -9 → alive ${aliveAfterMs} ms, → consuming ${consumingAfterMs} ms\n`);
    expect(await readyz(second.port)).toBe(200);
    // The old 30 s session timeout kept the partitions with the dead member for at least 30 s.
    expect(consumingAfterMs).toBeLessThan(25_000);
  });

  it('when its database restarts, then it stays up, is ready again and handles the next message', async () => {
    const postgres = await startPrivatePostgres();
    // Topics and a group of its own: the processes of the tests above may still be in theirs.
    env = isolatedServiceEnv('restart_db', { SERVICE_NAME: 'consumer-service', LOG_LEVEL: 'info' });
    try {
      const { proc, port } = await start({ DATABASE_URL: postgres.url, CATALOG_REFRESH_MS: '200' });
      await waitForServing(proc, port, { timeoutMs: 90_000, what: 'consuming', path: '/readyz' });
      expect(proc.stdout()).toContain('outbox relay is the leader');

      postgres.restart();
      await publish('after-db-restart');
      await waitFor(() => (proc.stdout().includes('handled after-db-restart') ? true : undefined), {
        timeoutMs: 60_000,
        what: 'a message handled after the restart',
      });
      await waitFor(async () => ((await readyz(port)) === 200 ? true : undefined), { what: 'ready again' });
      expect(proc.child.exitCode, proc.stderr()).toBeNull();
      await waitFor(
        () => ((proc.stdout().match(/outbox relay is the leader/g)?.length ?? 0) >= 2 ? true : undefined),
        {
          what: 'the relay leading again',
        },
      );
    } finally {
      postgres.stop();
    }
  });
});

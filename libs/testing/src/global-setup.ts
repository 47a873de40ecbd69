import { execFile } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { removeTestLeftovers } from './leftovers.ts';
import { secureServersTeardown } from './secure-stack.ts';
import { stackEnv } from './stack-env.ts';

/** Test topics and schemas named this long ago belong to no run still going. */
const LEFTOVER_AGE_MS = 6 * 60 * 60_000;

function hostPort(address: string): [string, number] {
  const u = address.includes('://') ? new URL(address) : new URL(`tcp://${address}`);
  return [u.hostname, Number(u.port)];
}

function answers(address: string): Promise<boolean> {
  const [host, port] = hostPort(address);
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 2000 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

/**
 * Fails the run at once, with the fix, when the local stack is not up; at the end, removes the
 * topics and schemas the run's tests created (and those older runs left) and stops the secured
 * servers its tests started, so the stack stays light.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const required = {
    kafka: stackEnv.KAFKA_BROKERS.split(',')[0] ?? '',
    registry: stackEnv.SCHEMA_REGISTRY_URL,
    postgres: stackEnv.DATABASE_URL,
    redis: stackEnv.REDIS_URL,
    s3: stackEnv.S3_ENDPOINT,
    mlflow: stackEnv.MLFLOW_TRACKING_URI,
  };
  const down: string[] = [];
  for (const [name, address] of Object.entries(required)) {
    if (!(await answers(address))) down.push(`${name} (${address})`);
  }
  if (down.length > 0) {
    throw new Error(
      `The local stack is not answering: ${down.join(', ')}. Start it with: scripts/stack.sh up`,
    );
  }
  // Every uniqueName of this run is recorded here (the workers inherit the variable).
  const dir = mkdtempSync(join(tmpdir(), 'tributary-test-run-'));
  const namesFile = join(dir, 'names');
  writeFileSync(namesFile, '');
  process.env.TRIBUTARY_TEST_NAMES = namesFile;
  const stopSecureServers = await secureServersTeardown();
  const stopRay = await optionalComponentTeardown('ray', process.env.RAY_ADDRESS ?? 'http://127.0.0.1:8265');
  return async () => {
    await stopSecureServers();
    await stopRay();
    const names = readFileSync(namesFile, 'utf8').split('\n').filter(Boolean);
    delete process.env.TRIBUTARY_TEST_NAMES;
    rmSync(dir, { recursive: true, force: true });
    const removed = await removeTestLeftovers({ names, olderThanMs: LEFTOVER_AGE_MS });
    process.stderr.write(`removed ${removed.topics} test topics and ${removed.schemas} test schemas\n`);
  };
}

/**
 * An optional stack component a test starts on demand (`scripts/stack.sh up ray`): the teardown
 * stops it when this run started it, so a run leaves the machine as it found it.
 */
async function optionalComponentTeardown(name: string, address: string): Promise<() => Promise<void>> {
  const wasUp = await answers(address);
  return async () => {
    if (wasUp || !(await answers(address))) return;
    const script = fileURLToPath(new URL('../../../scripts/stack.sh', import.meta.url));
    await promisify(execFile)(script, ['down', name], { timeout: 60_000 });
  };
}

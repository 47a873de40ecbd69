import net from 'node:net';
import { stackEnv } from './stack-env.ts';

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

/** Fails the run at once, with the fix, when the local stack is not up. */
export default async function setup(): Promise<void> {
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
}

import { afterAll, beforeAll, expect, it } from 'vitest';
import { isolatedServiceEnv } from './names.ts';
import { freePort, startTsProcess, waitForServing } from './process.ts';
import { serviceEnv } from './stack-env.ts';

interface SkeletonApp {
  http: { inject(req: { method: 'GET'; url: string }): PromiseLike<{ statusCode: number; body: string }> };
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The checks every service passes, whatever its flows: it starts against the real stack and
 * answers its probes, starts with its documented command and stops on SIGTERM, and refuses a bad
 * configuration naming the setting.
 */
export function describeServiceSkeleton(opts: {
  name: string;
  mainPath: URL;
  start: (env: Record<string, string>) => Promise<SkeletonApp>;
  extraEnv?: Record<string, string>;
}): void {
  let app: SkeletonApp;

  beforeAll(async () => {
    app = await opts.start(serviceEnv(isolatedServiceEnv(opts.name, opts.extraEnv)));
    await app.start();
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('when started against the real stack, then /healthz, /readyz and /metrics answer', async () => {
    const health = await app.http.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ status: 'ok', service: opts.name });

    const ready = await app.http.inject({ method: 'GET', url: '/readyz' });
    const readyBody = JSON.parse(ready.body) as { status: string; checks: Record<string, string> };
    expect(readyBody.checks).toMatchObject({ database: 'ok', registry: 'ok', broker: 'ok' });
    expect(ready.statusCode).toBe(200);

    const metrics = await app.http.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain(`process_cpu_user_seconds_total{service="${opts.name}"}`);
  });

  it('when started with its documented command, then it serves /healthz and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const proc = startTsProcess(
      opts.mainPath,
      serviceEnv(isolatedServiceEnv(opts.name, { ...opts.extraEnv, HTTP_PORT: String(port) })),
    );
    try {
      await waitForServing(proc, port, { timeoutMs: 90_000, what: `${opts.name} /healthz` });
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toEqual({ code: 0, signal: null });
    } finally {
      proc.child.kill('SIGKILL');
    }
  });

  it('when a setting is invalid, then it refuses to start and names the setting', async () => {
    const proc = startTsProcess(
      opts.mainPath,
      serviceEnv({ ...opts.extraEnv, HTTP_PORT: 'eighty', KAFKA_BROKERS: '', DATABASE_URL: 'not a url' }),
    );
    const { code } = await proc.exited;
    expect(code).toBe(1);
    expect(proc.stderr()).toContain(`${opts.name}: refusing to start`);
    expect(proc.stderr()).toMatch(/HTTP_PORT: .*number/);
    expect(proc.stderr()).toMatch(/KAFKA_BROKERS: /);
    expect(proc.stderr()).toMatch(/DATABASE_URL: expected a URL/);
  });
}

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './process.ts';
import { stackEnv } from './stack-env.ts';
import { waitFor } from './wait.ts';

export interface MlflowRunSpec {
  tags?: Record<string, string>;
  /** Numbers, or MLflow's own spellings of odd values ("NaN", "Infinity"). */
  metrics?: Record<string, number | string>;
  /** FINISHED by default; RUNNING leaves the run open. */
  status?: 'FINISHED' | 'FAILED' | 'KILLED' | 'RUNNING';
  startTime?: number;
  endTime?: number;
}

/**
 * Fills a real MLflow server through its own REST API, the way a training pipeline does:
 * experiments, runs with tags and metrics, registered models, versions, aliases and stages.
 */
export class MlflowRest {
  readonly api: string;
  readonly trackingUri: string;

  constructor(trackingUri: string = stackEnv.MLFLOW_TRACKING_URI) {
    this.trackingUri = trackingUri;
    this.api = `${trackingUri.replace(/\/+$/, '')}/api/2.0/mlflow`;
  }

  async createExperiment(name: string): Promise<string> {
    const { experiment_id } = await this.post<{ experiment_id: string }>('experiments/create', { name });
    return experiment_id;
  }

  async createRun(experimentId: string, spec: MlflowRunSpec = {}): Promise<string> {
    const startTime = spec.startTime ?? Date.now();
    const { run } = await this.post<{ run: { info: { run_id: string } } }>('runs/create', {
      experiment_id: experimentId,
      start_time: startTime,
      tags: Object.entries(spec.tags ?? {}).map(([key, value]) => ({ key, value })),
    });
    const runId = run.info.run_id;
    const metrics = Object.entries(spec.metrics ?? {});
    if (metrics.length > 0) {
      await this.post('runs/log-batch', {
        run_id: runId,
        metrics: metrics.map(([key, value]) => ({ key, value, timestamp: startTime, step: 0 })),
      });
    }
    const status = spec.status ?? 'FINISHED';
    if (status !== 'RUNNING') {
      await this.post('runs/update', { run_id: runId, status, end_time: spec.endTime ?? Date.now() });
    }
    return runId;
  }

  async createRegisteredModel(name: string): Promise<void> {
    await this.post('registered-models/create', { name });
  }

  /** Registers a version from a run's model artifact (or with no run at all). */
  async createModelVersion(name: string, runId?: string): Promise<string> {
    const { model_version } = await this.post<{ model_version: { version: string } }>(
      'model-versions/create',
      {
        name,
        source: runId ? `runs:/${runId}/model` : 's3://models/unregistered-source',
        ...(runId ? { run_id: runId } : {}),
      },
    );
    return model_version.version;
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.post('registered-models/alias', { name, alias, version });
  }

  /** Stages are deprecated in MLflow 2.9+, but servers still accept them. */
  async transitionStage(name: string, version: string, stage: string): Promise<void> {
    await this.post('model-versions/transition-stage', {
      name,
      version,
      stage,
      archive_existing_versions: false,
    });
  }

  private async post<T = unknown>(path: string, body: unknown): Promise<T> {
    const res = await fetch(`${this.api}/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`MLflow ${path} answered ${res.status}: ${text}`);
    return JSON.parse(text) as T;
  }
}

export interface MlflowServer {
  readonly url: string;
  readonly port: number;
  /** (Re)starts the server on the same port and database; resolves once /health answers. */
  start(): Promise<void>;
  /** Stops the server (SIGTERM to its process group); its data stays for the next start. */
  stop(): Promise<void>;
}

/**
 * A dedicated `mlflow server` (from the stack's virtualenv) with its own SQLite database, for
 * tests that stop and restart MLflow. Starting takes tens of seconds on a small machine.
 */
export async function startMlflowServer(
  opts: { port?: number; startTimeoutMs?: number } = {},
): Promise<MlflowServer> {
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'tributary-mlflow-'));
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const server: MlflowServer = {
    url,
    port,
    async start() {
      if (child) return;
      const started = spawn(
        join(stackEnv.TRIBUTARY_VENV, 'bin', 'mlflow'),
        [
          'server',
          '--backend-store-uri',
          `sqlite:///${join(dir, 'mlflow.db')}`,
          '--default-artifact-root',
          join(dir, 'artifacts'),
          '--host',
          '127.0.0.1',
          '--port',
          String(port),
          '--workers',
          '1',
        ],
        {
          // Its own process group, so stop() also ends the uvicorn worker it forks.
          detached: true,
          stdio: 'ignore',
          env: { ...process.env, MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false' },
        },
      );
      child = started;
      exited = new Promise((resolve) => started.once('exit', () => resolve()));
      await waitFor(
        async () => {
          if (started.exitCode !== null) throw new Error(`mlflow server exited with ${started.exitCode}`);
          const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) }).catch(
            () => undefined,
          );
          return res?.ok ? true : undefined;
        },
        { timeoutMs: opts.startTimeoutMs ?? 120_000, intervalMs: 250, what: `mlflow server on port ${port}` },
      );
    },
    async stop() {
      const running = child;
      if (!running?.pid) return;
      child = undefined;
      try {
        process.kill(-running.pid, 'SIGTERM');
      } catch {
        return; // already gone
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-running.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  await server.start();
  return server;
}

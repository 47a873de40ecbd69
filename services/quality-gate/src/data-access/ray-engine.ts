import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '@tributary/errors';
import { objectUri, type ObjectStore } from '@tributary/storage';
import type {
  Baseline,
  CandidateSpec,
  CandidateWritten,
  EngineContext,
  EngineRun,
  MetricResult,
  RefreshEngine,
  ResolvedSource,
  SourceRead,
  Thresholds,
  ToxicityScorer,
} from '../domain/ports.ts';
import { cancellationOf, throwIfCancelled } from '../domain/cancellation.ts';
import type { DuckDbEngine, DuckDbRun } from './duckdb-engine.ts';

export interface RayEngineOptions {
  /** The cluster's Jobs API (its dashboard address), e.g. http://127.0.0.1:8265. */
  address: string;
  /** The refresh store: an S3 store the cluster reaches, where the job's spec, parts and result go. */
  store: ObjectStore;
  /** S3 endpoint and region handed to the job (its credentials are the cluster's own). */
  s3: { endpoint_url: string | null; region: string };
  /** Loads the job's candidate to write it as the embedded engine does and to measure it. */
  embedded: DuckDbEngine;
  /** Python of the cluster's workers (with pyarrow and boto3). */
  python: string;
  pollMs: number;
}

/** The job's code, sent with each submission so the cluster needs no copy of the repository. */
const JOB_FILE = new URL('../../jobs/refresh_candidate.py', import.meta.url);

/**
 * The cluster engine: sampling and augmentation run as a Ray job submitted through Ray's Jobs REST
 * API (POST /api/jobs/, GET /api/jobs/<id> and /logs, POST /api/jobs/<id>/stop). Sources and the
 * candidate stay in S3; the quality-gate only downloads the (sampled) candidate to write its JSON
 * Lines and measure it with the embedded engine's SQL, so both engines' verdicts come from the
 * same code.
 */
export class RayEngine implements RefreshEngine {
  readonly name = 'ray';
  private readonly opts: RayEngineOptions;
  constructor(opts: RayEngineOptions) {
    this.opts = opts;
  }

  async open(datasetVersion: string): Promise<EngineRun> {
    return new RayRun(this.opts, datasetVersion, await this.opts.embedded.open(datasetVersion));
  }
}

interface JobSource {
  name: string;
  si: number;
  uri: string;
  algorithm: 'sha256' | 'md5';
  checksum: string;
  format: 'parquet' | 'csv' | 'json';
  key_prefix: string;
  /** Prefix of a checksum mismatch's reason (the master part). */
  what: string;
}

type JobResult =
  | {
      status: 'ok';
      sources: { si: number; rows: number; checksum: string }[];
      parts: string[];
      rows: number;
      seconds: number;
    }
  | { status: 'failed'; reason: string };

/** How long a stopped job may take to end before the run removes its working files anyway. */
const STOP_WAIT_MS = 30_000;

interface JobInfo {
  status: 'PENDING' | 'RUNNING' | 'STOPPED' | 'SUCCEEDED' | 'FAILED';
  message?: string | null;
}

class RayRun implements EngineRun {
  private readonly opts: RayEngineOptions;
  private readonly datasetVersion: string;
  private readonly inner: DuckDbRun;
  private readonly sources: { job: JobSource; read: SourceRead; announced?: number }[] = [];
  private submissionId: string | undefined;
  private running = false;
  private staging: string | undefined;

  constructor(opts: RayEngineOptions, datasetVersion: string, inner: DuckDbRun) {
    this.opts = opts;
    this.datasetVersion = datasetVersion;
    this.inner = inner;
  }

  /** Records the source for the job (which reads and checks it); its rows are known once the job ran. */
  ingest(source: ResolvedSource, _ctx: EngineContext): Promise<SourceRead> {
    const inS3 = (uri: string) => {
      if (!uri.startsWith('s3://')) {
        throw new AppError(
          'QG_ERR_SOURCE_LOCATION',
          `${uri} is not in S3: engine ray reads its sources from S3 (the cluster cannot reach this machine's files)`,
        );
      }
      return uri;
    };
    const job = (over: Omit<JobSource, 'si'>) => ({ ...over, si: this.sources.length });
    if (source.kind === 'file') {
      const format = /\.parquet$/i.test(source.uri)
        ? 'parquet'
        : /\.(jsonl|ndjson)$/i.test(source.uri)
          ? 'json'
          : /\.csv$/i.test(source.uri)
            ? 'csv'
            : undefined;
      if (!format) {
        throw new AppError('QG_ERR_SOURCE_FORMAT', `${source.uri}: expected a .jsonl, .csv or .parquet file`);
      }
      const read: SourceRead = { name: source.name, checksum: source.sha256, rows: 0, uri: source.uri };
      this.sources.push({
        job: job({
          name: source.name,
          uri: inS3(source.uri),
          algorithm: 'sha256',
          checksum: source.sha256,
          format,
          key_prefix: source.name,
          what: '',
        }),
        read,
      });
      return Promise.resolve(read);
    }
    const { master } = source;
    const read: SourceRead = {
      name: source.name,
      checksum: master.checksum,
      rows: 0,
      master_version: master.version,
      location: master.location,
    };
    source.parts.forEach((part, i) => {
      this.sources.push({
        job: job({
          name: source.name,
          uri: inS3(part.uri),
          algorithm: 'md5',
          checksum: part.md5,
          format: 'parquet',
          key_prefix: `${source.name}/${part.relpath}`,
          what: `master version ${master.version} of ${master.dataset}: ${part.relpath} `,
        }),
        read,
        ...(i === 0 ? { announced: master.rowCount } : {}),
      });
    });
    return Promise.resolve(read);
  }

  async generate(
    spec: CandidateSpec,
    out: { prefix: string; tags: Record<string, string> },
    ctx: EngineContext,
  ): Promise<CandidateWritten> {
    const augmentations = clusterAugmentations(spec.augmentations);
    throwIfCancelled(ctx.signal);
    const { store } = this.opts;
    if (!store.uri.startsWith('s3://')) {
      throw new AppError(
        'QG_ERR_ENGINE_UNSUPPORTED',
        `engine ray writes the candidate to S3, but the refresh store is ${store.uri} (set REFRESH_STORE_URI to s3://...)`,
      );
    }
    this.staging = `${out.prefix}ray/`;
    const jobSpec = {
      dataset_version: this.datasetVersion,
      run_id: ctx.runId,
      sources: this.sources.map((s) => s.job),
      stratify_column: spec.stratifyColumn,
      fraction: spec.fraction,
      seed: spec.seed,
      text_column: spec.textColumn,
      text_dropout: spec.textDropout,
      augmentations,
      output: `${objectUri(store, `${this.staging}parts`)}/`,
      result: objectUri(store, `${this.staging}result.json`),
      s3: this.opts.s3,
    };
    await store.put(`${this.staging}spec.json`, JSON.stringify(jobSpec));
    const submitted = performance.now();
    const id = await this.submit(objectUri(store, `${this.staging}spec.json`), ctx);
    const { runningAfter } = await this.follow(id, ctx);
    const result = await this.result();
    if (result.status === 'failed') {
      throw new AppError('QG_ERR_CLUSTER_JOB_FAILED', `Ray job ${id} failed: ${result.reason}`);
    }
    this.checkRows(result);
    ctx.log(
      `Ray job ${id}: ${result.rows} candidate rows; submit to running ${runningAfter.toFixed(2)} s, wall ${((performance.now() - submitted) / 1000).toFixed(2)} s`,
    );
    const files: string[] = [];
    for (const [i, uri] of result.parts.entries()) {
      const file = path.join(this.inner.scratch, `ray-part-${i}.parquet`);
      await store.download(keyOf(store, uri), file);
      files.push(file);
    }
    // Cancelled while the parts came down: no candidate is written for the run.
    throwIfCancelled(ctx.signal);
    return this.inner.writeLoaded(files, out);
  }

  measure(
    baseline: Baseline,
    settings: { stratifyColumn: string; textColumn: string | null; thresholds: Thresholds },
    toxicity: ToxicityScorer,
  ): Promise<{ metrics: MetricResult[]; gaps: string[] }> {
    return this.inner.measure(baseline, settings, toxicity);
  }

  async close(): Promise<void> {
    try {
      if (this.running && this.submissionId) await this.stop(this.submissionId).catch(() => undefined);
      // The job's spec, parts and result are working files: the candidate is what generate wrote.
      if (this.staging) {
        const keys: string[] = [];
        for await (const o of this.opts.store.list(this.staging)) keys.push(o.key);
        await this.opts.store.delete(keys);
      }
    } finally {
      await this.inner.close();
    }
  }

  private async submit(specUri: string, ctx: EngineContext): Promise<string> {
    const code = (await readFile(JOB_FILE)).toString('base64');
    const entrypoint = `${this.opts.python} -c "import base64; exec(compile(base64.b64decode('${code}'), 'refresh_candidate.py', 'exec'))" '${specUri.replaceAll("'", "'\\''")}'`;
    const submissionId = `tributary-${this.datasetVersion}-${randomBytes(3).toString('hex')}`;
    const res = await this.call('POST', '/api/jobs/', {
      entrypoint,
      submission_id: submissionId,
      // The run's trace travels with the job: in its metadata (listed by the dashboard) and its env.
      metadata: {
        tributary_run_id: ctx.runId,
        tributary_dataset_version: this.datasetVersion,
        ...(ctx.traceparent ? { traceparent: ctx.traceparent } : {}),
      },
      runtime_env: { env_vars: { TRIBUTARY_RUN_ID: ctx.runId, TRACEPARENT: ctx.traceparent ?? '' } },
    });
    if (!res.ok) {
      const body = res.text;
      throw new AppError(
        'QG_ERR_CLUSTER_REFUSED',
        `Ray cluster at ${this.opts.address} refused the job: HTTP ${res.status} ${body.slice(0, 300)}`,
        { retriable: res.status >= 500 },
      );
    }
    this.submissionId = submissionId;
    this.running = true;
    ctx.log(`Ray job ${submissionId} submitted to ${this.opts.address}`);
    return submissionId;
  }

  /** Polls the job to its end, copying its new log lines; stops it when the run is cancelled or its time is up. */
  private async follow(id: string, ctx: EngineContext): Promise<{ runningAfter: number }> {
    const submitted = performance.now();
    let runningAfter = Number.NaN;
    let logged = 0;
    const copyLogs = async () => {
      const res = await this.call('GET', `/api/jobs/${id}/logs`);
      if (!res.ok) return;
      const { logs } = res.json() as { logs: string };
      const complete = logs.lastIndexOf('\n') + 1;
      if (complete <= logged) return;
      for (const line of logs.slice(logged, complete).split('\n')) if (line !== '') ctx.log(line);
      logged = complete;
    };
    for (;;) {
      if (ctx.signal.aborted) {
        await this.stop(id).catch(() => undefined);
        const cancelled = cancellationOf(ctx.signal);
        if (cancelled) {
          ctx.log(`Ray job ${id} stopped: ${cancelled.message}`);
          throw cancelled;
        }
        throw new AppError(
          'QG_ERR_CLUSTER_JOB_TIMEOUT',
          `Ray job ${id} did not finish within the job's engine_timeout; it was stopped`,
        );
      }
      const res = await this.call('GET', `/api/jobs/${id}`);
      if (!res.ok) {
        throw new AppError(
          'QG_ERR_CLUSTER_UNAVAILABLE',
          `Ray cluster at ${this.opts.address}: HTTP ${res.status} for job ${id}`,
        );
      }
      const info = res.json() as JobInfo;
      if (info.status === 'RUNNING' && Number.isNaN(runningAfter)) {
        runningAfter = (performance.now() - submitted) / 1000;
      }
      if (info.status === 'SUCCEEDED' || info.status === 'FAILED' || info.status === 'STOPPED') {
        this.running = false;
        await copyLogs();
        if (info.status === 'STOPPED') {
          throw new AppError('QG_ERR_CLUSTER_JOB_FAILED', `Ray job ${id} was stopped on the cluster`);
        }
        if (info.status === 'FAILED') {
          // The job's own reason when it wrote one (result.json), else Ray's message.
          const result = await this.result().catch(() => undefined);
          const reason = result?.status === 'failed' ? result.reason : (info.message ?? 'no message');
          throw new AppError('QG_ERR_CLUSTER_JOB_FAILED', `Ray job ${id} failed: ${reason}`);
        }
        return {
          runningAfter: Number.isNaN(runningAfter) ? (performance.now() - submitted) / 1000 : runningAfter,
        };
      }
      await copyLogs();
      await sleep(this.opts.pollMs, undefined, { signal: ctx.signal }).catch(() => undefined);
    }
  }

  /**
   * Stops the job and waits (up to STOP_WAIT_MS) until Ray reports it ended: a stop is asynchronous,
   * and a job still writing its parts after the run removed its working files would leave them behind.
   */
  private async stop(id: string): Promise<void> {
    await this.call('POST', `/api/jobs/${id}/stop`);
    const deadline = Date.now() + STOP_WAIT_MS;
    while (Date.now() < deadline) {
      const res = await this.call('GET', `/api/jobs/${id}`);
      if (!res.ok) break;
      const { status } = res.json() as JobInfo;
      if (status === 'STOPPED' || status === 'SUCCEEDED' || status === 'FAILED') break;
      await sleep(this.opts.pollMs);
    }
    this.running = false;
  }

  private async result(): Promise<JobResult> {
    return JSON.parse(
      (await this.opts.store.getBuffer(`${this.staging!}result.json`)).toString('utf8'),
    ) as JobResult;
  }

  /** Each source's rows as the job read them; a master's parts must hold the rows master.versioned announced. */
  private checkRows(result: Extract<JobResult, { status: 'ok' }>): void {
    for (const s of this.sources) s.read.rows = 0;
    for (const r of result.sources) {
      const s = this.sources[r.si];
      if (s) s.read.rows += r.rows;
    }
    for (const s of this.sources) {
      if (s.announced !== undefined && s.read.rows !== s.announced) {
        throw new AppError(
          'QG_ERR_SOURCE_CHECKSUM',
          `source ${s.read.name}: master version ${s.read.master_version} holds ${s.read.rows} rows, but master.versioned announced ${s.announced}`,
        );
      }
    }
  }

  /**
   * One Jobs API call; a cluster that cannot be reached is a retriable failure naming it. Plain
   * node:http, not fetch: Ray's dashboard refuses POSTs carrying the Sec-Fetch-* headers fetch adds
   * (it takes them for browser traffic).
   */
  private async call(method: 'GET' | 'POST', route: string, body?: unknown): Promise<ApiResponse> {
    const url = new URL(route, this.opts.address);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    try {
      return await new Promise<ApiResponse>((resolve, reject) => {
        const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
          url,
          {
            method,
            timeout: 30_000,
            headers: payload === undefined ? {} : { 'content-type': 'application/json' },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('error', reject);
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              const status = res.statusCode ?? 0;
              resolve({
                ok: status >= 200 && status < 300,
                status,
                text,
                json: () => JSON.parse(text) as unknown,
              });
            });
          },
        );
        req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
        req.on('error', reject);
        req.end(payload);
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new AppError(
        'QG_ERR_CLUSTER_UNAVAILABLE',
        `Ray cluster at ${this.opts.address} is unreachable: ${code ?? (err as Error).message}`,
        { cause: err },
      );
    }
  }
}

interface ApiResponse {
  ok: boolean;
  status: number;
  text: string;
  json(): unknown;
}

/**
 * The pluggable augmentations as the job runs them (SQL with its DuckDB, the image flip with
 * Pillow); one written only in code for the embedded engine is refused by name.
 */
function clusterAugmentations(list: CandidateSpec['augmentations']) {
  const codeOnly = list.filter((a) => a.kind !== 'sql' && a.cluster === undefined);
  if (codeOnly.length > 0) {
    throw new AppError(
      'QG_ERR_ENGINE_UNSUPPORTED',
      `engine ray does not run the augmentations ${codeOnly.map((a) => a.name).join(', ')} (they exist only in the embedded engine's code); use engine duckdb for this job`,
      { retriable: false },
    );
  }
  return list.map((a) =>
    a.kind === 'sql'
      ? { kind: 'sql', name: a.name, column: a.column, expression: a.expression, probability: a.probability }
      : {
          kind: a.cluster!.kind,
          name: a.cluster!.kind,
          column: a.column,
          probability: a.cluster!.probability,
        },
  );
}

/** The store key of an object URI the job answered. */
function keyOf(store: ObjectStore, uri: string): string {
  const root = `${store.uri.replace(/\/+$/, '')}/`;
  if (!uri.startsWith(root)) {
    throw new AppError(
      'QG_ERR_CLUSTER_JOB_FAILED',
      `Ray job wrote ${uri}, outside the refresh store ${store.uri}`,
    );
  }
  return uri.slice(root.length);
}

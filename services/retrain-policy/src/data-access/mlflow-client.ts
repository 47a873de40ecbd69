import { SpanKind } from '@opentelemetry/api';
import pRetry, { AbortError } from 'p-retry';
import { z } from 'zod';
import { AppError } from '@tributary/errors';
import { Counter, withSpan, type Logger, type Registry } from '@tributary/telemetry';
import {
  RegistryAnswerError,
  type ModelRegistry,
  type ModelVersion,
  type RegisteredModel,
  type TrainingRun,
} from '../domain/ports.ts';

export interface MlflowClientOptions {
  trackingUri: string;
  timeoutMs: number;
  /** Retries of one request on network errors, timeouts, 429 and 5xx. */
  retries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  token?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  logger: Logger;
  metricsRegistry: Registry;
}

/** A failure worth another attempt: no answer, a timeout, 429 or 5xx. */
class TransientMlflowError extends Error {}

const EXPERIMENT_PAGE = 1000;
const MAX_EXPERIMENT_PAGES = 50;
/** Experiment ids per runs/search request, to keep requests small on large servers. */
const SEARCH_CHUNK = 100;

const modelVersionSchema = z.object({
  version: z.string(),
  run_id: z.string().optional(),
  current_stage: z.string().optional(),
});

const registeredModelSchema = z.object({
  registered_model: z.object({
    name: z.string(),
    latest_versions: z.array(modelVersionSchema).optional(),
    aliases: z.array(z.object({ alias: z.string(), version: z.string() })).optional(),
  }),
});

const runSchema = z.object({
  info: z.object({
    run_id: z.string().optional(),
    run_uuid: z.string().optional(),
    experiment_id: z.string(),
    start_time: z.coerce.number().optional(),
    end_time: z.coerce.number().optional(),
  }),
  data: z
    .object({
      // MLflow writes NaN and infinities as strings.
      metrics: z.array(z.object({ key: z.string(), value: z.union([z.number(), z.string()]) })).optional(),
      tags: z.array(z.object({ key: z.string(), value: z.string() })).optional(),
    })
    .optional(),
});

type RawRun = z.output<typeof runSchema>;

/**
 * MLflow's REST API (tracking and model registry) over fetch: every request has a timeout, is
 * retried with backoff on transient failures, and then fails with a retriable
 * RTP_ERR_MLFLOW_UNAVAILABLE so the consumer runner retries the message and finally dead-letters
 * it. "Does not exist" is an answer (undefined); any other odd answer is a RegistryAnswerError.
 */
export class MlflowClient implements ModelRegistry {
  private readonly api: string;
  private readonly headers: Record<string, string>;
  private readonly requests: Counter<'operation' | 'outcome'>;
  private readonly opts: MlflowClientOptions;

  constructor(opts: MlflowClientOptions) {
    this.opts = opts;
    this.api = `${opts.trackingUri.replace(/\/+$/, '')}/api/2.0/mlflow`;
    this.headers = { accept: 'application/json' };
    if (opts.token) this.headers.authorization = `Bearer ${opts.token}`;
    else if (opts.username && opts.password) {
      this.headers.authorization = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`;
    }
    this.requests = new Counter({
      name: 'mlflow_requests_total',
      help: 'Requests to MLflow by operation and outcome (ok, not_found, rejected, unreachable, timeout, server_error)',
      labelNames: ['operation', 'outcome'],
      registers: [opts.metricsRegistry],
    });
  }

  /** For /readyz: one cheap request, one attempt. */
  async ping(): Promise<void> {
    let res: Response;
    try {
      res = await fetch(`${this.api}/experiments/search?max_results=1`, {
        headers: this.headers,
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
    } catch (err) {
      const timedOut = err instanceof Error && err.name === 'TimeoutError';
      throw new AppError(
        'RTP_ERR_MLFLOW_UNAVAILABLE',
        timedOut
          ? `MLflow did not answer within ${this.opts.timeoutMs} ms`
          : `MLflow unreachable: ${causeOf(err)}`,
        { cause: err },
      );
    }
    await res.body?.cancel();
    if (!res.ok) throw new AppError('RTP_ERR_MLFLOW_UNAVAILABLE', `MLflow answered ${res.status}`);
  }

  async getRegisteredModel(name: string, signal?: AbortSignal): Promise<RegisteredModel | undefined> {
    const found = await this.call('registered-models/get', 'GET', { name }, registeredModelSchema, signal);
    if (!found) return undefined;
    const model = found.registered_model;
    return {
      name: model.name,
      aliases: model.aliases ?? [],
      latestVersions: (model.latest_versions ?? []).map(toModelVersion),
    };
  }

  async getModelVersion(
    name: string,
    version: string,
    signal?: AbortSignal,
  ): Promise<ModelVersion | undefined> {
    const found = await this.call(
      'model-versions/get',
      'GET',
      { name, version },
      z.object({ model_version: modelVersionSchema }),
      signal,
    );
    return found && toModelVersion(found.model_version);
  }

  async getRun(runId: string, signal?: AbortSignal): Promise<TrainingRun | undefined> {
    const found = await this.call('runs/get', 'GET', { run_id: runId }, z.object({ run: runSchema }), signal);
    return found && toTrainingRun(found.run);
  }

  /** Searches `experimentIds` only (each policy names its own), or every active experiment when undefined. */
  async findLastFinishedRun(
    tags: Readonly<Record<string, string>>,
    experimentIds: readonly string[] | undefined,
    signal?: AbortSignal,
  ): Promise<TrainingRun | undefined> {
    const filter = [
      ...Object.entries(tags).map(([key, value]) => `tags.${quoteKey(key)} = ${quoteValue(value)}`),
      `attributes.status = 'FINISHED'`,
    ].join(' and ');
    const searched = experimentIds ?? (await this.activeExperimentIds(signal));
    let newest: RawRun | undefined;
    for (let i = 0; i < searched.length; i += SEARCH_CHUNK) {
      const found = await this.call(
        'runs/search',
        'POST',
        {
          experiment_ids: searched.slice(i, i + SEARCH_CHUNK),
          filter,
          run_view_type: 'ACTIVE_ONLY',
          order_by: ['attributes.end_time DESC', 'attributes.start_time DESC'],
          max_results: 1,
        },
        z.object({ runs: z.array(runSchema).optional() }),
        signal,
      );
      const run = found?.runs?.[0];
      if (run && (!newest || isNewer(run, newest))) newest = run;
    }
    return newest && toTrainingRun(newest);
  }

  private async activeExperimentIds(signal: AbortSignal | undefined): Promise<string[]> {
    const ids: string[] = [];
    let pageToken: string | undefined;
    for (let page = 0; page < MAX_EXPERIMENT_PAGES; page++) {
      const found = await this.call(
        'experiments/search',
        'POST',
        {
          max_results: EXPERIMENT_PAGE,
          view_type: 'ACTIVE_ONLY',
          ...(pageToken ? { page_token: pageToken } : {}),
        },
        z.object({
          experiments: z.array(z.object({ experiment_id: z.string() })).optional(),
          next_page_token: z.string().optional(),
        }),
        signal,
      );
      ids.push(...(found?.experiments ?? []).map((e) => e.experiment_id));
      pageToken = found?.next_page_token;
      if (!pageToken) break;
    }
    return ids;
  }

  /**
   * One API call: GET with query parameters or POST with a JSON body. Resolves undefined when
   * MLflow says the resource does not exist.
   */
  private async call<S extends z.ZodType>(
    operation: string,
    method: 'GET' | 'POST',
    params: Record<string, unknown>,
    schema: S,
    signal: AbortSignal | undefined,
  ): Promise<z.output<S> | undefined> {
    const url =
      method === 'GET'
        ? `${this.api}/${operation}?${new URLSearchParams(params as Record<string, string>).toString()}`
        : `${this.api}/${operation}`;
    const body = method === 'POST' ? JSON.stringify(params) : undefined;
    const { status, text } = await this.send(operation, method, url, body, signal);

    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      this.requests.inc({ operation, outcome: 'rejected' });
      throw new RegistryAnswerError(
        `${operation} answered ${status} with a body that is not JSON: ${snippet(text)}`,
      );
    }
    if (status >= 200 && status < 300) {
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        this.requests.inc({ operation, outcome: 'rejected' });
        const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
        throw new RegistryAnswerError(`${operation} answered an unexpected shape (${problems.join('; ')})`);
      }
      this.requests.inc({ operation, outcome: 'ok' });
      return parsed.data;
    }
    const { error_code: code, message } = (json ?? {}) as { error_code?: unknown; message?: unknown };
    if (code === 'RESOURCE_DOES_NOT_EXIST') {
      this.requests.inc({ operation, outcome: 'not_found' });
      return undefined;
    }
    this.requests.inc({ operation, outcome: 'rejected' });
    const detail = `${operation} answered ${status} ${typeof code === 'string' ? code : ''}: ${
      typeof message === 'string' ? message : snippet(text)
    }`;
    if (status === 401 || status === 403) {
      // Credentials are configuration: retrying will not fix them; the dead letter keeps the message.
      throw new AppError('RTP_ERR_MLFLOW_AUTH', `MLflow refused the credentials: ${detail}`);
    }
    throw new RegistryAnswerError(detail, { status, code });
  }

  /** Sends one request with a timeout per attempt, retrying transient failures with backoff. */
  private async send(
    operation: string,
    method: string,
    url: string,
    body: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ status: number; text: string }> {
    const { timeoutMs, retries } = this.opts;
    const attempt = async (): Promise<{ status: number; text: string }> => {
      try {
        const timeout = AbortSignal.timeout(timeoutMs);
        const res = await fetch(url, {
          method,
          headers:
            body === undefined ? this.headers : { ...this.headers, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body }),
          signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
        });
        const text = await res.text();
        if (res.status >= 500 || res.status === 429) {
          this.requests.inc({ operation, outcome: 'server_error' });
          throw new TransientMlflowError(`answered ${res.status}: ${snippet(text)}`);
        }
        return { status: res.status, text };
      } catch (err) {
        if (err instanceof TransientMlflowError) throw err;
        if (signal?.aborted) throw new AbortError(signal.reason instanceof Error ? signal.reason : 'aborted');
        const timedOut = err instanceof Error && err.name === 'TimeoutError';
        this.requests.inc({ operation, outcome: timedOut ? 'timeout' : 'unreachable' });
        throw new TransientMlflowError(
          timedOut ? `no answer within ${timeoutMs} ms` : `unreachable: ${causeOf(err)}`,
        );
      }
    };
    return withSpan(
      `mlflow ${operation}`,
      { 'http.request.method': method, 'url.full': url, 'rpc.system': 'mlflow' },
      async () => {
        try {
          return await pRetry(attempt, {
            retries,
            factor: 2,
            minTimeout: this.opts.retryBaseMs,
            maxTimeout: this.opts.retryMaxMs,
            randomize: true,
            ...(signal ? { signal } : {}),
            shouldRetry: ({ error }) => error instanceof TransientMlflowError,
            onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
              this.opts.logger.warn(
                { operation, attempt: attemptNumber, retriesLeft, err: error.message },
                'MLflow request failed',
              );
            },
          });
        } catch (err) {
          if (!(err instanceof TransientMlflowError)) throw err;
          throw new AppError(
            'RTP_ERR_MLFLOW_UNAVAILABLE',
            `MLflow ${operation} failed after ${retries + 1} attempt(s): ${err.message}`,
            { cause: err },
          );
        }
      },
      { kind: SpanKind.CLIENT },
    );
  }
}

function toModelVersion(v: z.output<typeof modelVersionSchema>): ModelVersion {
  return { version: v.version, runId: v.run_id || null, stage: v.current_stage ?? null };
}

function toTrainingRun(run: RawRun): TrainingRun {
  const runId = run.info.run_id ?? run.info.run_uuid;
  if (!runId) throw new RegistryAnswerError('a run came without run_id');
  return {
    runId,
    experimentId: run.info.experiment_id,
    tags: Object.fromEntries((run.data?.tags ?? []).map((t) => [t.key, t.value])),
    metrics: Object.fromEntries((run.data?.metrics ?? []).map((m) => [m.key, Number(m.value)])),
  };
}

function isNewer(a: RawRun, b: RawRun): boolean {
  const [ae, be] = [a.info.end_time ?? 0, b.info.end_time ?? 0];
  return ae !== be ? ae > be : (a.info.start_time ?? 0) > (b.info.start_time ?? 0);
}

/** Tag names go in backticks, so dots, dashes and spaces are fine. */
function quoteKey(key: string): string {
  if (key.includes('`')) throw new RegistryAnswerError(`tag name ${key} cannot be used in an MLflow filter`);
  return `\`${key}\``;
}

/** MLflow's filter grammar has no escapes: a value is quoted with whichever quote it does not contain. */
function quoteValue(value: string): string {
  if (!value.includes("'")) return `'${value}'`;
  if (!value.includes('"')) return `"${value}"`;
  throw new RegistryAnswerError(`tag value ${value} holds both quote characters and cannot be searched for`);
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat || '(empty body)';
}

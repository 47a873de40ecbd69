import { AppError, parseErrorBody } from '@tributary/errors';

/**
 * A service's answer that was not a success, passed on to the browser: a 404 stays a 404
 * (CON_ERR_NOT_FOUND), anything else is a 502 (CON_ERR_UPSTREAM); `details` keep the service's
 * own status and code.
 */
export class UpstreamError extends AppError {
  readonly upstreamStatus: number;
  constructor(service: string, status: number, message: string, upstreamCode?: string) {
    super(status === 404 ? 'CON_ERR_NOT_FOUND' : 'CON_ERR_UPSTREAM', `${service}: ${message}`, {
      retriable: status >= 500,
      details: { service, status, ...(upstreamCode === undefined ? {} : { code: upstreamCode }) },
    });
    this.upstreamStatus = status;
  }
}

/**
 * The admin HTTP API of one service, called with the deployment's admin token. A service that
 * does not answer is a 503 naming it; its own errors keep their status and message.
 */
export class ServiceClient {
  readonly name: string;
  private readonly baseUrl: string;
  private readonly token: string;
  private readonly timeoutMs: number;

  constructor(opts: { name: string; baseUrl: string; token: string; timeoutMs: number }) {
    this.name = opts.name;
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.token = opts.token;
    this.timeoutMs = opts.timeoutMs;
  }

  /** GET a JSON document; undefined when the service answers 404. */
  async find<T>(
    path: string,
    query: Record<string, string | number | undefined> = {},
  ): Promise<T | undefined> {
    const res = await this.request('GET', path, query);
    if (res.status === 404) return undefined;
    return this.json<T>(res, path);
  }

  async get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
    return this.json<T>(await this.request('GET', path, query), path);
  }

  async send<T>(method: 'PUT' | 'POST', path: string, body: unknown, headers: Record<string, string> = {}) {
    return this.json<T>(await this.request(method, path, {}, body, headers), path);
  }

  private async request(
    method: string,
    path: string,
    query: Record<string, string | number | undefined>,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    try {
      return await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new UpstreamError(this.name, 503, `${method} ${url.pathname} failed: ${why}`);
    }
  }

  private async json<T>(res: Response, path: string): Promise<T> {
    const text = await res.text();
    if (!res.ok) {
      const error = parseErrorBody(text);
      const message = error?.message ?? text.slice(0, 500);
      throw new UpstreamError(
        this.name,
        res.status,
        `${path} answered ${res.status}: ${message}`,
        error?.code,
      );
    }
    return JSON.parse(text) as T;
  }
}

/** The services the console reads. */
export interface Services {
  ingestor: ServiceClient;
  preprocessor: ServiceClient;
  qualityGate: ServiceClient;
  publisher: ServiceClient;
  retrainPolicy: ServiceClient;
}

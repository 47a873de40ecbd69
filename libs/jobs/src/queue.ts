import { PgBoss, type Db, type Job } from 'pg-boss';
import { withTransaction, type Pool, type PoolClient } from '@tributary/db';
import { currentTraceparent, withSpanInTrace, type Logger } from '@tributary/telemetry';
import { retryDelay, type RetryPolicy } from './retry-policy.ts';

/** What a job row carries: its data, the attempt it is, and the trace of the run it belongs to. */
interface Envelope<T> {
  data: T;
  attempt: number;
  /** W3C traceparent of the run when the job was sent; its attempts run in that trace. */
  traceparent: string | null;
}

/** The attempt a handler is given. */
export interface JobAttempt {
  /** 1 for the first attempt; a retry or an attempt taken over from a dead holder counts one more. */
  attempt: number;
  /**
   * A previous holder did not finish this work: its lease ran out (its replica died or hung) or it
   * threw. The work may have been partly done (a message sent before the crash).
   */
  expired: boolean;
  /**
   * The delay the retry policy gives a retry of this attempt; undefined when it is the last one, and
   * the handler ends the work failed itself (marks it failed, pages) instead of asking for a retry.
   */
  retryInMs: number | undefined;
}

/** What an attempt came to: nothing (done), or a retry asked for, with the reason. */
export type JobOutcome = { retry: string } | undefined;

/** A durable job: what one attempt does, and how its failures are retried. */
export interface JobDefinition<T> {
  /** Queue name, unique in the service (letters, digits, `-`, `_`, `.`). */
  name: string;
  retry: RetryPolicy;
  /**
   * How long an attempt may be held before another worker takes it for a dead replica's and runs
   * it again. Keep it above the longest attempt: a slow but live holder overtaken means the work
   * done twice.
   */
  leaseMs: number;
  /** The span each attempt runs in (inside the trace the job was sent from). */
  span: (
    data: T,
    attempt: JobAttempt,
  ) => {
    name: string;
    attributes: Record<string, string | number | boolean | undefined>;
  };
  run(data: T, attempt: JobAttempt): Promise<JobOutcome>;
}

export interface SendOptions {
  /** Not before this time (a retry's due time, a claim's lease). */
  startAfter?: Date;
  /** The attempt the job will be (default 1). */
  attempt?: number;
  /** The run's trace; default the active one. */
  traceparent?: string | null;
  /** Sent in this transaction: the job exists only if the caller's writes commit. */
  tx?: PoolClient;
}

/** A job defined on a queue: sending it is how work is parked for later. */
export interface DefinedJob<T> {
  readonly name: string;
  /** Parks the work; a worker runs it once due. Answers the job's id. */
  send(data: T, opts?: SendOptions): Promise<string>;
  /**
   * Runs the first attempt here and now (in the caller's span), as a consumer does with the event
   * in hand; when it asks for a retry, its second attempt is sent, due after the policy's first delay.
   */
  runNow(data: T): Promise<JobOutcome>;
}

/** A job not finished yet: waiting (`created`, `retry`) or held by a worker (`active`). */
export interface UnfinishedJob<T> {
  id: string;
  state: 'created' | 'retry' | 'active';
  attempt: number;
  startAfter: Date;
  data: T;
}

export interface JobQueueOptions {
  /** The service's pool: jobs are stored in the same database and may be sent in its transactions. */
  pool: Pool;
  /** The service's schema; the jobs live in `<schema>_jobs` (see jobsSchema). */
  schema: string;
  logger: Logger;
  /** Most jobs run per queue and round (default 10). */
  batchSize?: number;
  /** How often the lease of held attempts is checked (pg-boss supervise), in ms; at least 1 s. */
  superviseMs?: number;
}

/** The Postgres schema holding the jobs of a service whose schema is `schema`. */
export function jobsSchema(schema: string): string {
  return `${schema}_jobs`;
}

/**
 * The durable jobs of one service, in pg-boss tables of its database (schema `<schema>_jobs`,
 * created and migrated by pg-boss at start). A job is sent (in the caller's transaction when
 * given) and run by the service's job worker (`poll`), each attempt in the trace of the run that
 * sent it. A failed attempt is retried after the delays of the job's retry policy, a new job row
 * per attempt sent in the same transaction that settles the failed one; an attempt whose holder
 * died is taken again when its lease (pg-boss expiration) is over.
 */
export class JobQueue {
  readonly schema: string;
  private readonly boss: PgBoss;
  private readonly pool: Pool;
  private readonly logger: Logger;
  private readonly batchSize: number;
  private readonly definitions = new Map<string, JobDefinition<unknown>>();
  private started = false;

  constructor(opts: JobQueueOptions) {
    this.pool = opts.pool;
    this.logger = opts.logger;
    this.batchSize = opts.batchSize ?? 10;
    this.schema = jobsSchema(opts.schema);
    const superviseSeconds = Math.max(1, Math.round((opts.superviseMs ?? 60_000) / 1000));
    this.boss = new PgBoss({
      db: adapter(opts.pool),
      schema: this.schema,
      // Expired leases are found by the monitor pass of the supervisor: both run at this interval.
      superviseIntervalSeconds: superviseSeconds,
      monitorIntervalSeconds: superviseSeconds,
      // The registry of instances and its heartbeat query are of no use here: replicas are the
      // orchestrator's to count.
      registerInstance: false,
      // Each attempt has its own span in the run's trace (below); pg-boss's would add a second one.
      openTelemetry: { enabled: false },
    });
    // A lost database connection surfaces here (the pool reconnects): log it, never crash on it.
    this.boss.on('error', (err: unknown) => this.logger.warn({ err }, 'job queue error'));
    this.boss.on('warning', (warning: unknown) => this.logger.warn({ warning }, 'job queue warning'));
  }

  /** Declares a job; its queue is created when the queue starts. */
  define<T>(definition: JobDefinition<T>): DefinedJob<T> {
    // Programmer invariants: queues are created at start, one per name.
    if (this.started) throw new Error(`job ${definition.name} defined after the queue started`);
    if (this.definitions.has(definition.name)) throw new Error(`job ${definition.name} defined twice`);
    this.definitions.set(definition.name, definition as JobDefinition<unknown>);
    return {
      name: definition.name,
      send: (data, opts = {}) => this.send(definition.name, data, opts),
      runNow: async (data) => {
        const retryInMs = retryDelay(definition.retry, 1);
        const outcome = await definition.run(data, { attempt: 1, expired: false, retryInMs });
        if (outcome !== undefined && retryInMs !== undefined) {
          await this.send(definition.name, data, {
            attempt: 2,
            startAfter: new Date(Date.now() + retryInMs),
          });
        }
        return outcome;
      },
    };
  }

  /** The jobs of `name` not finished yet, oldest first: what an operator or a test looks at. */
  async unfinished<T>(name: string): Promise<UnfinishedJob<T>[]> {
    const jobs = await this.boss.findJobs<Envelope<T>>(name);
    return jobs.flatMap((job) =>
      job.state === 'created' || job.state === 'retry' || job.state === 'active'
        ? [
            {
              id: job.id,
              state: job.state,
              attempt: job.data.attempt + job.retryCount,
              startAfter: job.startAfter,
              data: job.data.data,
            },
          ]
        : [],
    );
  }

  /** Creates (or migrates) the jobs schema and the queues; sending needs it. */
  async start(): Promise<void> {
    await this.boss.start();
    for (const def of this.definitions.values()) {
      const options = {
        expireInSeconds: Math.max(1, Math.ceil(def.leaseMs / 1000)),
        // Attempts taken over from a dead holder, or that threw, are run again at once, twice at
        // most; failures the handler reports are retried by the policy with a job of their own.
        retryLimit: 2,
        retryDelay: 0,
      };
      if (await this.boss.getQueue(def.name)) await this.boss.updateQueue(def.name, options);
      else await this.boss.createQueue(def.name, options);
    }
    this.started = true;
  }

  /** Stops the supervision and waits for pg-boss to settle; the service's pool stays open. */
  async stop(): Promise<void> {
    await this.boss.stop({ graceful: true, close: false, timeout: 10_000 });
  }

  /**
   * One round of the worker: takes the due jobs of each queue (SKIP LOCKED: each to one replica)
   * and runs them, at most `batchSize` per queue. Each is taken when the previous one is done, so
   * that its lease counts from when it starts, not from behind others. Answers how many were run.
   */
  async poll(): Promise<number> {
    let ran = 0;
    for (const def of this.definitions.values()) {
      for (let i = 0; i < this.batchSize; i += 1) {
        const [job] = await this.boss.fetch<Envelope<unknown>>(def.name, { batchSize: 1 });
        if (!job) break;
        await this.runAttempt(def, job);
        ran += 1;
      }
    }
    return ran;
  }

  private async send<T>(name: string, data: T, opts: SendOptions): Promise<string> {
    const envelope: Envelope<T> = {
      data,
      attempt: opts.attempt ?? 1,
      traceparent: opts.traceparent === undefined ? (currentTraceparent() ?? null) : opts.traceparent,
    };
    const id = await this.boss.send(name, envelope, {
      ...(opts.startAfter ? { startAfter: opts.startAfter } : {}),
      ...(opts.tx ? { db: clientAdapter(opts.tx) } : {}),
    });
    // Programmer invariant: pg-boss answers null only for singleton or throttled sends, never used here.
    if (id === null) throw new Error(`job ${name} not stored`);
    return id;
  }

  private async runAttempt(def: JobDefinition<unknown>, job: Job<Envelope<unknown>>): Promise<void> {
    const envelope = job.data;
    const attempt = envelope.attempt + job.retryCount;
    const ctx: JobAttempt = {
      attempt,
      expired: job.retryCount > 0,
      retryInMs: retryDelay(def.retry, attempt),
    };
    const span = def.span(envelope.data, ctx);
    const held = { id: job.id, retryCount: job.retryCount };
    await withSpanInTrace(
      envelope.traceparent,
      span.name,
      { ...span.attributes, 'tributary.job': def.name, 'tributary.attempt': attempt },
      async () => {
        let outcome: JobOutcome;
        try {
          outcome = await def.run(envelope.data, ctx);
        } catch (err) {
          // A failure the handler did not end: retried by the policy while it allows, else left to
          // pg-boss (run again at once, then failed: see docs/operations.md, "Durable jobs").
          if (ctx.retryInMs === undefined) {
            this.logger.error({ err, job: def.name, attempt }, 'job attempt failed');
            await this.boss.fail(def.name, held, { message: String(err) });
            return;
          }
          outcome = { retry: err instanceof Error ? err.message : String(err) };
        }
        if (outcome === undefined) {
          await this.boss.complete(def.name, held);
          return;
        }
        if (ctx.retryInMs === undefined) {
          this.logger.error(
            { job: def.name, attempt, reason: outcome.retry },
            'job asked for a retry past its last attempt',
          );
          await this.boss.fail(def.name, held, { message: outcome.retry });
          return;
        }
        await this.parkRetry(def.name, envelope, held, attempt + 1, ctx.retryInMs, outcome.retry);
      },
    );
  }

  /**
   * The next attempt, sent in the transaction that completes this one: a holder whose lease ran
   * out meanwhile completes nothing, and its retry is not sent (the new holder's goes on).
   */
  private async parkRetry(
    name: string,
    envelope: Envelope<unknown>,
    held: { id: string; retryCount: number },
    attempt: number,
    delayMs: number,
    reason: string,
  ): Promise<void> {
    const parked = await withTransaction(this.pool, async (client) => {
      const db = clientAdapter(client);
      const done = await this.boss.complete(name, held, { reason }, { db });
      if ((done as { affected?: number }).affected !== 1) return false;
      await this.boss.send(
        name,
        { ...envelope, attempt },
        { startAfter: new Date(Date.now() + delayMs), db },
      );
      return true;
    });
    if (!parked)
      this.logger.warn({ job: name, attempt: attempt - 1 }, 'job attempt overtaken: its lease ran out');
  }
}

function adapter(pool: Pool): Db {
  return { executeSql: (text, values) => pool.query(text, values) };
}

function clientAdapter(client: PoolClient): Db {
  return { executeSql: (text, values) => client.query(text, values) };
}

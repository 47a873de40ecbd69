import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import pRetry from 'p-retry';
import { AppError, isAppError } from '@tributary/errors';
import type { EventDefinition } from './define.ts';

export type Compatibility = 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FULL' | 'NONE';

export interface EventRegistryOptions {
  /** Base URL of a Confluent-compatible API (Apicurio: `/apis/ccompat/v7`). */
  url: string;
  compatibility?: Compatibility;
  /** Basic auth for hosted registries. */
  auth?: { username: string; password: string };
}

/**
 * Encodes and decodes events through a Confluent-compatible schema registry, always under the
 * TopicNameStrategy subject of the event's topic (the JS client would otherwise derive the
 * subject from the record name, unlike the Java and .NET clients). Messages are read with the
 * local schema of the event as the reader schema (Avro schema resolution), so an old message gets
 * the defaults of fields added since, and are validated before a handler sees them.
 */
export class EventRegistry {
  private readonly client: SchemaRegistry;
  private readonly ids = new Map<string, Promise<number>>();
  /** Per local (reader) type, the resolver from each writer schema id; undefined when they are alike. */
  private readonly resolvers = new WeakMap<avro.Type, Map<number, Promise<avro.Resolver | undefined>>>();
  private readonly compatibility: Compatibility;
  private readonly opts: EventRegistryOptions;

  constructor(opts: EventRegistryOptions) {
    this.opts = opts;
    this.client = new SchemaRegistry({
      host: opts.url,
      ...(opts.auth ? { auth: opts.auth } : {}),
      retry: { retries: 2, initialRetryTimeInSecs: 0.2, maxRetryTimeInSecs: 2 },
    });
    this.compatibility = opts.compatibility ?? 'BACKWARD';
  }

  /** Sets the subject's compatibility, then registers the schema; returns its id (cached). */
  register<T>(def: EventDefinition<T>): Promise<number> {
    let id = this.ids.get(def.subject);
    if (!id) {
      id = this.registerSubject(def.subject, def.schema).catch((err: unknown) => {
        this.ids.delete(def.subject);
        throw err;
      });
      this.ids.set(def.subject, id);
    }
    return id;
  }

  /** Registers a raw schema under a subject; a refusal for incompatibility becomes EVT_ERR_INCOMPATIBLE_SCHEMA. */
  async registerSubject(subject: string, schema: Readonly<Record<string, unknown>>): Promise<number> {
    try {
      await this.setCompatibility(subject, this.compatibility);
      const { id } = await this.client.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
        { subject, updateConfig: false, compatibility: this.compatibility as never },
      );
      return id;
    } catch (err) {
      throw classifyRegistryError(err, `registering ${subject}`);
    }
  }

  /**
   * Registers (and so compatibility-checks) every event at once, as a service does at start-up;
   * fails naming each subject the registry refused, with its reason.
   */
  async registerAll(defs: readonly EventDefinition<unknown>[]): Promise<void> {
    const results = await Promise.allSettled(defs.map((def) => this.register(def)));
    const errors = results.flatMap((r) =>
      r.status === 'rejected' ? [classifyRegistryError(r.reason, 'registering')] : [],
    );
    if (errors.length <= 1) {
      if (errors[0]) throw errors[0];
      return;
    }
    throw new AppError(errors[0]!.code, errors.map((e) => e.message).join('\n'), {
      retriable: errors.every((e) => e.retriable),
      cause: errors[0],
    });
  }

  async encode<T>(def: EventDefinition<T>, value: T): Promise<Buffer> {
    def.validate(value);
    const id = await this.register(def);
    return this.client.encode(id, value);
  }

  /**
   * Decodes registry-framed Avro written with any registered version of the event's schema into
   * the local one (fields added since get their defaults) and validates it as the topic's event.
   */
  async decode<T>(def: EventDefinition<T>, buffer: Buffer): Promise<T> {
    if (buffer.length < 5 || buffer.readUInt8(0) !== 0) {
      throw new AppError(
        'EVT_ERR_DECODE',
        `Cannot decode a ${def.name} message: not registry-framed Avro (magic byte 0, then a schema id)`,
        { details: { event: def.name, subject: def.subject } },
      );
    }
    const writerId = buffer.readInt32BE(1);
    const resolver = await this.resolver(def, writerId);
    let value: unknown;
    try {
      value = def.avroType.fromBuffer(buffer.subarray(5), resolver);
    } catch (err) {
      throw new AppError(
        'EVT_ERR_DECODE',
        `Cannot decode a ${def.name} message written with schema id ${writerId}: ${errorMessage(err)}`,
        { cause: err, details: { event: def.name, subject: def.subject, schemaId: writerId } },
      );
    }
    return def.validate(value);
  }

  /** For /readyz: the registry answers. */
  async ping(): Promise<void> {
    const res = await fetch(`${this.opts.url.replace(/\/$/, '')}/subjects`, {
      signal: AbortSignal.timeout(2000),
    });
    if (!res.ok) throw new AppError('EVT_ERR_REGISTRY_UNAVAILABLE', `schema registry answered ${res.status}`);
  }

  /** The resolver from a writer schema into the event's local schema, built once per writer id. */
  private resolver(def: EventDefinition<unknown>, writerId: number): Promise<avro.Resolver | undefined> {
    let byWriter = this.resolvers.get(def.avroType);
    if (!byWriter) {
      byWriter = new Map<number, Promise<avro.Resolver | undefined>>();
      this.resolvers.set(def.avroType, byWriter);
    }
    let resolver = byWriter.get(writerId);
    if (!resolver) {
      resolver = this.createResolver(def, writerId).catch((err: unknown) => {
        byWriter.delete(writerId); // an unreachable registry is worth asking again
        throw err;
      });
      byWriter.set(writerId, resolver);
    }
    return resolver;
  }

  private async createResolver(
    def: EventDefinition<unknown>,
    writerId: number,
  ): Promise<avro.Resolver | undefined> {
    let writer: unknown;
    try {
      writer = await this.client.getSchema(writerId);
    } catch (err) {
      throw classifyRegistryError(err, `decoding a ${def.name} message`);
    }
    const reader = def.avroType;
    try {
      if (!avro.Type.isType(writer)) throw new Error('it is not an Avro schema');
      const type = writer as avro.Type;
      // Alike schemas need no resolution, and reading without a resolver is faster.
      return reader.equals(type) ? undefined : reader.createResolver(type);
    } catch (err) {
      throw new AppError(
        'EVT_ERR_DECODE',
        `Cannot decode a ${def.name} message: its writer schema (id ${writerId}) cannot be read as the ` +
          `local ${def.name} schema of subject ${def.subject}: ${errorMessage(err)}`,
        { cause: err, details: { event: def.name, subject: def.subject, schemaId: writerId } },
      );
    }
  }

  /**
   * Sets a subject's compatibility rule. Apicurio creates the rule on the first PUT and answers 409
   * to a PUT that races another replica's first one ("rule already exists"); the rule exists then,
   * so the PUT is repeated and becomes an update.
   */
  private async setCompatibility(subject: string, compatibility: Compatibility): Promise<void> {
    await pRetry(
      async () => {
        const res = await fetch(`${this.opts.url.replace(/\/$/, '')}/config/${encodeURIComponent(subject)}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/vnd.schemaregistry.v1+json', ...this.authHeader() },
          body: JSON.stringify({ compatibility }),
          signal: AbortSignal.timeout(5000),
        });
        if (!res.ok) {
          throw new AppError(
            'EVT_ERR_REGISTRY_REFUSED',
            `PUT config/${subject} answered ${res.status}: ${await res.text()}`,
            { retriable: res.status === 409, details: { status: res.status } },
          );
        }
      },
      {
        retries: 3,
        minTimeout: 50,
        shouldRetry: ({ error }) => isAppError(error) && error.retriable,
      },
    );
  }

  private authHeader(): Record<string, string> {
    const auth = this.opts.auth;
    return auth
      ? { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` }
      : {};
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Registry failures split into "this message can never be decoded" (dead-letter at once) and
 * "the registry is unreachable" (retry): a bad magic byte or an unknown schema id is the former.
 */
export function classifyRegistryError(err: unknown, doing: string): AppError {
  if (err instanceof AppError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const status = (err as { status?: unknown } | null)?.status;
  if (status === 409) {
    return new AppError('EVT_ERR_INCOMPATIBLE_SCHEMA', `Schema registry refused ${doing}: ${message}`, {
      cause: err,
    });
  }
  if (status === 404 || /not found/i.test(message)) {
    return new AppError('EVT_ERR_UNKNOWN_SCHEMA', `Unknown schema id while ${doing}: ${message}`, {
      cause: err,
    });
  }
  if (
    /magic byte|invalid|truncated|offset is out of bounds|RangeError/i.test(message) ||
    err instanceof RangeError
  ) {
    return new AppError('EVT_ERR_DECODE', `Cannot decode while ${doing}: ${message}`, { cause: err });
  }
  return new AppError('EVT_ERR_REGISTRY_UNAVAILABLE', `Schema registry failed while ${doing}: ${message}`, {
    cause: err,
  });
}

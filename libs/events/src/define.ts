import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { AppError } from '@tributary/errors';

/** Everything the platform knows about one event type; built from its .avsc file. */
export interface EventDefinition<T> {
  /** Event name of the design card, e.g. `batch.ready`. */
  readonly name: string;
  readonly topic: string;
  /** TopicNameStrategy subject, `<topic>-value`; always passed explicitly to the registry. */
  readonly subject: string;
  /** The parsed .avsc, as registered. */
  readonly schema: Readonly<Record<string, unknown>>;
  readonly avroType: avro.Type;
  /** Checks a value against the schema; throws EVT_ERR_INVALID naming every bad field. */
  validate(value: unknown): T;
  /** Message key: everything of one dataset lands on one partition. */
  key(value: T): string;
}

export function loadSchema(url: URL): Record<string, unknown> {
  return JSON.parse(readFileSync(url, 'utf8')) as Record<string, unknown>;
}

export function defineEvent<T>(
  name: string,
  schemaUrl: URL,
  key: (value: T) => string,
  topic: string = name,
): EventDefinition<T> {
  const schema = Object.freeze(loadSchema(schemaUrl));
  const avroType = avro.Type.forSchema(schema as avro.Schema);
  return Object.freeze({
    name,
    topic,
    subject: `${topic}-value`,
    schema,
    avroType,
    key,
    validate(value: unknown): T {
      const problems: string[] = [];
      const ok = avroType.isValid(value, {
        errorHook: (path: string[], bad: unknown) => {
          problems.push(`${path.join('.') || '(root)'}: got ${JSON.stringify(bad) ?? String(bad)}`);
        },
      });
      if (!ok) {
        throw new AppError('EVT_ERR_INVALID', `Invalid ${name} event: ${problems.join('; ')}`, {
          details: { event: name, problems },
        });
      }
      return value as T;
    },
  });
}

/**
 * The same event on a namespaced topic (`<prefix><topic>`, subject `<prefix><topic>-value`).
 * Deployments sharing a cluster, and tests that each need their own topics, set a prefix.
 */
export function prefixEvent<T>(def: EventDefinition<T>, prefix: string): EventDefinition<T> {
  if (!prefix) return def;
  const topic = `${prefix}${def.topic}`;
  return Object.freeze({ ...def, topic, subject: `${topic}-value` });
}

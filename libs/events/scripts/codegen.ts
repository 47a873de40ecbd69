/**
 * Generates src/generated/types.ts and docs/events.md from the .avsc files, so every event type
 * and its documentation have one source of truth. Written here rather than taken from npm because the maintained Avro-to-TypeScript
 * generators pin old TypeScript majors; the mapping below is the whole of what our schemas use.
 * Run `npm run codegen`; `--check` fails when the committed file is stale (CI runs it).
 */
import { readFileSync, readdirSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';

type Schema = string | Schema[] | { type: Schema; [key: string]: unknown };

const srcDir = fileURLToPath(new URL('../src/', import.meta.url));
const outFile = join(srcDir, 'generated', 'types.ts');
const docsFile = fileURLToPath(new URL('../../../docs/events.md', import.meta.url));
const declarations = new Map<string, string>();

function tsType(schema: Schema): string {
  if (Array.isArray(schema)) return schema.map(tsType).join(' | ');
  if (typeof schema === 'string') {
    switch (schema) {
      case 'null':
        return 'null';
      case 'boolean':
        return 'boolean';
      case 'int':
      case 'long':
      case 'float':
      case 'double':
        return 'number';
      case 'string':
        return 'string';
      case 'bytes':
        return 'Buffer';
      default:
        return schema.split('.').pop() ?? schema; // a named type defined elsewhere
    }
  }
  const s = schema as Record<string, unknown> & { type: Schema };
  switch (s.type) {
    case 'record': {
      const name = s.name as string;
      const fields = s.fields as { name: string; type: Schema; doc?: string }[];
      const body = fields
        .map((f) => `${f.doc ? `  /** ${f.doc} */\n` : ''}  ${f.name}: ${tsType(f.type)};`)
        .join('\n');
      declare(
        name,
        `${typeof s.doc === 'string' ? `/** ${s.doc} */\n` : ''}export interface ${name} {\n${body}\n}`,
      );
      return name;
    }
    case 'enum': {
      const name = s.name as string;
      declare(name, `export type ${name} = ${(s.symbols as string[]).map((x) => `'${x}'`).join(' | ')};`);
      return name;
    }
    case 'array':
      return `Array<${tsType(s.items as Schema)}>`;
    case 'map':
      return `Record<string, ${tsType(s.values as Schema)}>`;
    case 'fixed':
      return 'Buffer';
    default:
      return tsType(s.type); // primitive with logicalType, e.g. timestamp-millis → number
  }
}

function declare(name: string, text: string): void {
  const existing = declarations.get(name);
  if (existing !== undefined && existing !== text) {
    throw new Error(`Named type ${name} is defined twice with different shapes`);
  }
  declarations.set(name, text);
}

const eventDirs = readdirSync(srcDir, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(srcDir, d.name, 'schema.avsc')))
  .map((d) => d.name)
  .sort();
const docSections: string[] = [];
for (const dir of eventDirs) {
  const schema = JSON.parse(readFileSync(join(srcDir, dir, 'schema.avsc'), 'utf8')) as Schema;
  avro.Type.forSchema(schema as avro.Schema); // fails loudly on an invalid schema
  tsType(schema);
  docSections.push(docSection(dir, schema as unknown as { name: string; doc?: string; fields: Field[] }));
}

interface Field {
  name: string;
  type: Schema;
  doc?: string;
  default?: unknown;
}

function avroTypeName(schema: Schema): string {
  if (Array.isArray(schema)) return schema.map(avroTypeName).join(' \\| ');
  if (typeof schema === 'string') return schema;
  const s = schema as Record<string, unknown> & { type: Schema };
  if (s.type === 'array') return `array<${avroTypeName(s.items as Schema)}>`;
  if (s.type === 'map') return `map<${avroTypeName(s.values as Schema)}>`;
  if (s.type === 'enum') return `enum ${s.name as string} (${(s.symbols as string[]).join(', ')})`;
  if (s.type === 'record') return `record ${s.name as string}`;
  if (typeof s.logicalType === 'string') return `${avroTypeName(s.type)} (${s.logicalType})`;
  return avroTypeName(s.type);
}

function docSection(dir: string, schema: { name: string; doc?: string; fields: Field[] }): string {
  const topic = dir === 'dead-letter' ? 'dlq.&lt;service&gt;' : dir.replace('-', '.');
  const rows = schema.fields.map(
    (f) =>
      `| \`${f.name}\` | ${avroTypeName(f.type)} | ${f.default === undefined ? '' : `\`${JSON.stringify(f.default)}\``} | ${f.doc ?? ''} |`,
  );
  return [
    `## ${topic}`,
    '',
    `Record \`io.tributary.events.${schema.name}\`, subject \`${topic}-value\`, schema \`libs/events/src/${dir}/schema.avsc\`.`,
    '',
    schema.doc ?? '',
    '',
    '| field | type | default | meaning |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

const docs = `# Events

Generated from the Avro schemas by \`npm run codegen\`; do not edit by hand. Every message is
keyed by \`dataset\` (all events of one dataset on one partition, in order), carries W3C trace
context in its \`traceparent\` header and the event id in \`event-id\`, and is encoded in the
Confluent wire format under the TopicNameStrategy subject \`<topic>-value\` with BACKWARD
compatibility. Topic settings and consumers are listed in \`deploy/topics.yaml\`.

A service registers the schema of every event it produces (its dead letters, the events of
\`RuntimeOptions.produces\` and of its outbox relay) when it starts, so a schema the registry refuses
as incompatible stops the deploy with an \`EVT_ERR_INCOMPATIBLE_SCHEMA\` error naming the subject
and the registry's reason. Consumers read each message with the event's current schema as the
reader schema: a message written before a field was added gets that field's default, and one whose
writer schema cannot be read that way is dead-lettered as \`EVT_ERR_DECODE\`. Evolve a schema by
adding fields with defaults (or removing fields that have one); anything else is refused.

## Producing from another language

Any Kafka client with a Confluent-compatible Avro serializer can produce \`batch.ready\` (the only
event a producer sends; the others are the services' own). What the services expect:

| what | value |
| --- | --- |
| topic | \`batch.ready\` (with a deployment's \`TOPIC_PREFIX\`: \`<prefix>batch.ready\`) |
| key | the dataset, UTF-8 |
| value | Confluent wire format: byte 0, the 4-byte big-endian schema id, Avro binary |
| registry subject | \`<topic>-value\` (TopicNameStrategy), e.g. \`batch.ready-value\`; the registry's Confluent-compatible API is \`<registry>/apis/ccompat/v7\` (Apicurio). The services register the schema when they start: a producer serialises with the subject's latest version and need not register (\`auto.register.schemas: false\`, \`use.latest.version: true\`) |
| header \`traceparent\` | required: W3C trace context \`00-<32 hex trace id>-<16 hex span id>-01\`. Its trace id becomes the run id of the whole run (\`run_id\` of every later event, the Jaeger trace); a redelivered message keeps it, so the ingestor knows it from a new submission of the same content |
| header \`event-id\` | the value's \`event_id\` (a UUID): traces and dead letters name the message by it |
| header \`event-name\` | \`batch.ready\` |

\`examples/python-producer/produce_batch.py\` does it with confluent-kafka and its \`AvroSerializer\`
(\`pip install 'confluent-kafka[avro]'\`; \`scripts/stack.sh\` installs it into the project's
virtualenv), and \`services/ingestor/test/python-producer.test.ts\` runs it against the real stack:

\`\`\`sh
python examples/python-producer/produce_batch.py ./my-batch --dataset penguins --contract penguins@1.0.0 \\
    --bootstrap 127.0.0.1:9092 --registry http://127.0.0.1:8081/apis/ccompat/v7
\`\`\`

Files are announced where they are (a \`file://\` URI inside the ingestor's \`SOURCE_FILE_ROOTS\`, or
\`s3://\`) with their sha256 and size; see [ingestion.md](ingestion.md) for what the ingest checks.

${docSections.join('\n')}`;

const output = `// Generated by libs/events/scripts/codegen.ts from the .avsc files. Do not edit by hand.\n\n${[
  ...declarations.values(),
].join('\n\n')}\n`;

if (process.argv.includes('--check')) {
  for (const [file, expected] of [
    [outFile, output],
    [docsFile, docs],
  ] as const) {
    const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (current !== expected) {
      process.stderr.write(`${file} is stale: run \`npm run codegen\`\n`);
      process.exit(1);
    }
  }
} else {
  mkdirSync(join(srcDir, 'generated'), { recursive: true });
  writeFileSync(outFile, output);
  writeFileSync(docsFile, docs);
}

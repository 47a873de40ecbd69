import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { EventRegistry } from '@tributary/events';
import {
  listDeadLetters as listDeadLettersOf,
  replayDeadLetters as replayDeadLettersOf,
  type DeadLetterConnection,
  type DeadLetterView,
  type Kafka,
  type ReplayResult,
} from '@tributary/kafka';
import { KAFKA_SETTINGS_HELP, kafkaSettings, withKafka } from '../kafka-connection.ts';

export {
  parseDlqOffset,
  REPLAY_EVENT_ID_HEADER,
  REPLAY_OF_HEADER,
  type DeadLetterView,
  type ReplayMarker,
  type ReplayResult,
} from '@tributary/kafka';

const DEFAULT_BROKERS = '127.0.0.1:9092';
const DEFAULT_REGISTRY_URL = 'http://127.0.0.1:8081/apis/ccompat/v7';

export interface DlqConnection {
  brokers: string;
  topicPrefix: string;
  registryUrl: string;
}

export interface ListOptions extends DlqConnection {
  service: string;
  limit?: number;
  json?: boolean;
}

export interface ReplayOptions extends DlqConnection {
  service: string;
  offset: string[];
  all?: boolean;
  dryRun?: boolean;
  force?: boolean;
  json?: boolean;
}

/** The services that have a dead-letter topic: the `dlq.<service>` entries of deploy/topics.yaml. */
export function dlqServices(): string[] {
  const catalog = parse(readFileSync(new URL('../../../deploy/topics.yaml', import.meta.url), 'utf8')) as {
    topics?: Record<string, unknown>;
  };
  return Object.keys(catalog.topics ?? {})
    .filter((t) => t.startsWith('dlq.'))
    .map((t) => t.slice('dlq.'.length))
    .sort();
}

function checkService(service: string): void {
  const known = dlqServices();
  if (!known.includes(service)) {
    throw new Error(`unknown service "${service}": expected one of ${known.join(', ')}`);
  }
}

function wholePositive(raw: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < 1)
    throw new Error(`--limit must be a positive whole number, got "${raw}"`);
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The cluster and registry the options name. */
function connection(opts: DlqConnection, kafka: Kafka): DeadLetterConnection {
  return {
    kafka,
    registry: new EventRegistry({ url: opts.registryUrl }),
    topicPrefix: opts.topicPrefix,
    groupPrefix: 'tributary-cli-dlq',
    clusterLabel: opts.brokers,
  };
}

/** Runs `work` over the cluster of --brokers, with the services' TLS and SASL settings of the environment. */
function overKafka<T>(opts: DlqConnection, work: (conn: DeadLetterConnection) => Promise<T>): Promise<T> {
  return withKafka(kafkaSettings(opts.brokers), 'tributary-cli-dlq', (kafka) =>
    work(connection(opts, kafka)),
  );
}

/** `tributary dlq list`: the dead letters of one service, oldest first per partition. */
export async function listDeadLetters(
  opts: ListOptions,
): Promise<{ topic: string; total: number; records: DeadLetterView[] }> {
  checkService(opts.service);
  return overKafka(opts, (conn) => listDeadLettersOf(conn, opts));
}

/**
 * `tributary dlq replay`: re-publishes the original key, bytes and headers of dead letters to the
 * topic and partition they came from, then records each replay on `<dlq topic>.replayed`. A dead
 * letter already recorded there is refused (`--offset`) or skipped (`--all`) unless `--force`.
 */
export async function replayDeadLetters(opts: ReplayOptions): Promise<ReplayResult[]> {
  checkService(opts.service);
  return overKafka(opts, (conn) => replayDeadLettersOf(conn, { ...opts, replayedBy: userInfo().username }));
}

function formatView(v: DeadLetterView): string {
  const lines = [`${v.dlq.topic} ${v.dlq.partition}:${v.dlq.offset}  dead letter ${v.dlq.event_id ?? '?'}`];
  if (v.source) {
    lines.push(
      `  original   ${v.source.topic} ${v.source.partition}:${v.source.offset}  key ${v.key ?? '(none)'}  event ${v.event_id ?? '?'}`,
    );
  }
  if (v.error) {
    lines.push(`  error      ${v.error.code}: ${v.error.message}`);
    lines.push(
      `  failed     ${v.first_failed_at ?? '?'}, dead-lettered ${v.dead_lettered_at ?? '?'} after ${v.error.attempts} attempt(s) by ${v.consumer_group ?? '?'}${v.error.retriable ? ' (retriable)' : ''}`,
    );
  }
  if (v.run_id) lines.push(`  run        ${v.run_id}`);
  if (v.event) {
    const fields = Object.entries(v.event)
      .filter(([k]) => k !== 'name')
      .map(([k, val]) => `${k}=${String(val)}`);
    lines.push(`  event      ${v.event.name} ${fields.join(' ')}`.trimEnd());
  }
  if (v.decode_error) lines.push(`  decode     failed: ${v.decode_error}`);
  if (v.replay_of) lines.push(`  replay of  ${v.replay_of}`);
  for (const r of v.replays) {
    lines.push(`  replayed   ${r.replayed_at} by ${r.replayed_by} → ${r.topic} ${r.partition}:${r.offset}`);
  }
  return lines.join('\n');
}

function formatResult(r: ReplayResult): string {
  const from = `${r.dlq.topic} ${r.dlq.partition}:${r.dlq.offset}`;
  switch (r.status) {
    case 'replayed':
      return `replayed ${from} → ${r.topic} ${r.partition}:${r.offset}`;
    case 'would-replay':
      return `would replay ${from} → ${r.topic} partition ${r.partition} (dry run)`;
    case 'skipped-already-replayed':
      return `skipped ${from}: already replayed at ${r.earlier_replays.at(-1)?.replayed_at ?? '?'} (--force to replay again)`;
  }
}

function withConnection(cmd: Command): Command {
  const env = process.env;
  return cmd
    .requiredOption('--service <name>', 'the consuming service whose dead letters to read, e.g. preprocessor')
    .option(
      '--brokers <list>',
      'Kafka brokers, comma-separated (env KAFKA_BROKERS)',
      env.KAFKA_BROKERS ?? DEFAULT_BROKERS,
    )
    .option(
      '--topic-prefix <prefix>',
      'namespace before every topic name (env TOPIC_PREFIX)',
      env.TOPIC_PREFIX ?? '',
    )
    .option(
      '--registry-url <url>',
      'schema registry base URL (env SCHEMA_REGISTRY_URL)',
      env.SCHEMA_REGISTRY_URL ?? DEFAULT_REGISTRY_URL,
    );
}

/** `tributary dlq list|replay`: inspect and replay a service's dead letters. */
export function registerDlq(program: Command): void {
  const dlq = program
    .command('dlq')
    .description('Inspect and replay the dead letters of a service (dlq.<service>)')
    .addHelpText('after', KAFKA_SETTINGS_HELP);

  withConnection(
    dlq
      .command('list')
      .description(
        'Print the dead letters of a service, from the beginning of its dead-letter topic (moves no offsets)',
      ),
  )
    .option('--limit <n>', 'print at most n records', wholePositive)
    .option('--json', 'print the records as JSON')
    .action(async (opts: ListOptions) => {
      const { topic, total, records } = await listDeadLetters(opts);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
        return;
      }
      const shown = records.length < total ? ` (showing the first ${records.length})` : '';
      process.stdout.write(`${total} dead letter(s) on ${topic}${shown}\n`);
      for (const v of records) process.stdout.write(`\n${formatView(v)}\n`);
    });

  withConnection(
    dlq
      .command('replay')
      .description(
        'Re-publish the original key, bytes and headers of dead letters to their original topic; a dead letter already replayed is refused unless --force',
      ),
  )
    .option('--offset <partition:offset>', 'the dead letter to replay (repeatable)', collect, [])
    .option('--all', 'replay every dead letter not replayed yet')
    .option('--dry-run', 'print what would be replayed, publish nothing')
    .option('--force', 'replay even dead letters that were replayed before')
    .option('--json', 'print the outcome as JSON')
    .action(async (opts: ReplayOptions) => {
      const results = await replayDeadLetters(opts);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
        return;
      }
      if (results.length === 0) process.stdout.write('nothing to replay\n');
      for (const r of results) process.stdout.write(`${formatResult(r)}\n`);
    });
}

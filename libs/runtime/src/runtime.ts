import { Catalog, CatalogStore, catalogMigrations } from '@tributary/catalog';
import { redactConfig, type CommonConfig } from '@tributary/config';
import { createPool, migrate, pingDb, type Pool } from '@tributary/db';
import { EventRegistry, deadLetterEvent, prefixEvent, type EventDefinition } from '@tributary/events';
import { EventProducer, ensureTopics, type Kafka, type TopicSpec } from '@tributary/kafka';
import { checkKafkaCertificates, createSecuredKafka, kafkaStartError } from '@tributary/kafka/connection';
import { databaseUrl, postgresStartError } from './connections.ts';
import {
  OpenLineageEmitter,
  setDefaultLineageScope,
  createLogger,
  createMetrics,
  startTracing,
  type Logger,
  type Metrics,
} from '@tributary/telemetry';

/** The settings a runtime needs; every service config extends the common ones. */
export type RuntimeConfig = Readonly<CommonConfig>;

/** The shared infrastructure of one service process, created once and handed to buildApp. */
export interface Runtime {
  readonly config: RuntimeConfig;
  readonly serviceName: string;
  readonly schema: string;
  readonly topicPrefix: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly kafka: Kafka;
  readonly registry: EventRegistry;
  readonly producer: EventProducer;
  readonly pool: Pool;
  /** The dataset catalog: the applied declarations (kept current) and its store. */
  readonly catalog: Catalog;
  readonly catalogStore: CatalogStore;
  /** OpenLineage run events, when OPENLINEAGE_URL is set. */
  readonly lineage: OpenLineageEmitter | undefined;
  /** Readiness probes by name; services add their own (Redis, MLflow, ...). */
  readonly readiness: Map<string, () => Promise<void>>;
  /** Resources closed last, in reverse order of registration. */
  onClose(fn: () => Promise<void>): void;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** SQL migration folders, applied into the service's schema before it starts. */
  migrations: URL[];
  /** Topics this service consumes or produces, created if missing (with its DLQ). */
  topics: readonly string[];
  /**
   * Events this service produces, registered (so compatibility-checked) before anything else
   * starts, with its dead-letter event; events given to outboxRelayWorker are checked at its start.
   */
  produces?: readonly EventDefinition<unknown>[];
  logDestination?: NodeJS.WritableStream;
}

export async function createRuntime(config: RuntimeConfig, opts: RuntimeOptions): Promise<Runtime> {
  const serviceName = config.SERVICE_NAME;
  const schema = config.DATABASE_SCHEMA ?? serviceName.replaceAll('-', '_');
  const topicPrefix = config.TOPIC_PREFIX;
  const logger = createLogger({
    serviceName,
    level: config.LOG_LEVEL,
    ...(opts.logDestination ? { destination: opts.logDestination } : {}),
  });
  const closers: (() => Promise<void>)[] = [];
  const tracing = startTracing({ serviceName, otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
  closers.push(() => tracing.shutdown());
  const metrics = createMetrics(serviceName);
  logger.info({ config: redactConfig(config) }, 'starting');

  // An incompatible schema refuses the deploy here, naming the subject, instead of failing the
  // first event of its type (which the outbox relay would retry forever).
  const registry = new EventRegistry({ url: config.SCHEMA_REGISTRY_URL });
  const produced = [deadLetterEvent(serviceName), ...(opts.produces ?? [])].map((def) =>
    prefixEvent(def, topicPrefix),
  );
  await registry.registerAll(produced);
  logger.info({ subjects: produced.map((def) => def.subject) }, 'schemas registered');

  // The first connection to each server says plainly when a password or a certificate is refused.
  const dbUrl = databaseUrl(config);
  const applied = await migrate({ url: dbUrl, schema, dirs: opts.migrations }).catch((err: unknown) => {
    throw postgresStartError(config, err);
  });
  if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  const pool = createPool({
    url: dbUrl,
    schema,
    max: config.DATABASE_POOL_MAX,
    applicationName: serviceName,
  });
  closers.push(() => pool.end());

  // Every service reads the catalog, so any may be the first to start: each migrates it.
  await migrate({ url: dbUrl, schema: config.CATALOG_SCHEMA, dirs: [catalogMigrations] });
  const catalogStore = new CatalogStore({ pool, schema: config.CATALOG_SCHEMA });
  const catalog = new Catalog({ store: catalogStore, logger, refreshMs: config.CATALOG_REFRESH_MS });
  await catalog.start();
  closers.push(() => Promise.resolve(catalog.stop()));

  const kafka = createSecuredKafka(config, { clientId: config.KAFKA_CLIENT_ID ?? serviceName, logger });
  await checkKafkaCertificates(config);
  const admin = kafka.admin();
  await admin.connect().catch((err: unknown) => {
    throw kafkaStartError(config, err);
  });
  closers.push(() => admin.disconnect());
  const spec = (topic: string): TopicSpec => ({
    topic: `${topicPrefix}${topic}`,
    numPartitions: config.KAFKA_TOPIC_PARTITIONS,
    replicationFactor: config.KAFKA_TOPIC_REPLICATION,
  });
  const created = await ensureTopics(admin, [...opts.topics, `dlq.${serviceName}`].map(spec));
  if (created.length > 0) logger.info({ created }, 'topics created');

  const producer = new EventProducer(kafka, registry, topicPrefix);
  await producer.connect();
  closers.push(() => producer.disconnect());

  const lineage = config.OPENLINEAGE_URL
    ? new OpenLineageEmitter(
        {
          url: config.OPENLINEAGE_URL,
          namespace: config.OPENLINEAGE_NAMESPACE,
          kafkaNamespace: `kafka://${config.KAFKA_BROKERS[0] ?? 'kafka'}`,
        },
        (err) => logger.warn({ err }, 'OpenLineage event not delivered'),
      )
    : undefined;
  // Tasks run outside a message (schedule, admin API, retry pollers) report as runs of this service.
  setDefaultLineageScope(lineage && { emitter: lineage, service: config.SERVICE_NAME });

  const readiness = new Map<string, () => Promise<void>>([
    ['database', () => pingDb(pool)],
    ['registry', () => registry.ping()],
    [
      'broker',
      async () => {
        await admin.describeCluster();
      },
    ],
  ]);

  return {
    config,
    serviceName,
    schema,
    topicPrefix,
    logger,
    metrics,
    kafka,
    registry,
    producer,
    pool,
    catalog,
    catalogStore,
    lineage,
    readiness,
    onClose: (fn) => closers.push(fn),
    close: async () => {
      for (const fn of closers.reverse()) {
        await fn().catch((err: unknown) => logger.warn({ err }, 'error while closing'));
      }
    },
  };
}

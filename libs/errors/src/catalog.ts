/**
 * Every error code of Tributary, in one place (as fastify's `lib/errors.js`): its HTTP status, its
 * retriable flag (the default of an AppError with that code; the consumer runner retries retriable
 * errors with backoff and dead-letters the others) and one line of documentation, which
 * `docs/errors.md` is generated from (`node libs/errors/scripts/docs.ts`).
 *
 * Codes read `<AREA>_ERR_<PROBLEM>`. Dashboards, alerts and dead-letter headers key on them: a code
 * is renamed only when two codes mean the same thing. Codes that name a batch's rejection (the
 * `error_code` of `batch.rejected`) are listed too: they are never thrown, so their flag is false.
 */
export interface ErrorSpec {
  /** What an HTTP route answers when the error reaches the error handler. */
  readonly status: number;
  /** Whether trying again may succeed; an AppError may override it for one occurrence. */
  readonly retriable: boolean;
  /** One line: what happened and, where there is one, what to do. */
  readonly doc: string;
}

/** Areas of the codes, one per library or service. */
export const AREAS = {
  APP: 'any service: errors no other code names',
  CATALOG: 'the dataset catalog (libs/catalog), served by the ingestor under /admin/catalog',
  CON: 'the console (services/console)',
  CONN: 'connections to servers at start-up (libs/errors, libs/db, libs/kafka)',
  CONTRACT: 'data contracts (libs/contracts)',
  DB: 'Postgres (libs/db), classified where the error enters',
  DLQ: 'dead letters: reading and replaying them (libs/kafka, the CLI and the console)',
  DVC: 'DVC files and directory objects (libs/dvc)',
  EVT: 'events and the schema registry (libs/events, libs/kafka)',
  KAFKA: 'Kafka topics and reads (libs/kafka)',
  ING: 'the ingestor (services/ingestor)',
  LOCK: 'master locks and fencing (libs/lock)',
  NOT: 'the notifier (services/notifier)',
  OUTBOX: 'the transactional outbox and its relay (libs/outbox)',
  PRE: 'the preprocessor (services/preprocessor)',
  PUB: 'the publisher (services/publisher)',
  QG: 'the quality gate (services/quality-gate)',
  RTP: 'the retrain policy (services/retrain-policy)',
  STORAGE: 'object stores: S3 and the file system (libs/storage)',
} as const;

export const ERRORS = {
  APP_ERR_UNEXPECTED: {
    status: 500,
    retriable: true,
    doc: 'An error no code names (not an AppError): the consumer runner retries it CONSUMER_MAX_RETRIES times, then dead-letters it.',
  },
  APP_ERR_PROGRAMMER: {
    status: 500,
    retriable: false,
    doc: 'A programming error (a TypeError, RangeError, ReferenceError or SyntaxError thrown by the code): never retried, the message is dead-lettered at once. Fix the code.',
  },

  CATALOG_ERR_CONFLICT: {
    status: 409,
    retriable: false,
    doc: 'A catalog change conflicts with what is stored: a published contract changed in place, a stale revision, or a removal of a dataset still in use.',
  },
  CATALOG_ERR_INVALID: {
    status: 400,
    retriable: false,
    doc: 'A declaration or contract file is invalid (schema, YAML, unset environment variable, path and name disagree); `details.problems` lists each problem.',
  },
  CATALOG_ERR_NOT_FOUND: {
    status: 404,
    retriable: false,
    doc: 'The dataset is not declared in the catalog.',
  },
  CATALOG_ERR_UNAVAILABLE: {
    status: 503,
    retriable: true,
    doc: 'The dataset catalog could not be read from Postgres (by any service); retried.',
  },

  CON_ERR_BAD_REQUEST: {
    status: 400,
    retriable: false,
    doc: 'A console API request is malformed (body, query or path); the message names each problem.',
  },
  CON_ERR_BAD_TOKEN: {
    status: 401,
    retriable: false,
    doc: 'The login token is neither the admin nor the viewer token.',
  },
  CON_ERR_CSRF: {
    status: 403,
    retriable: false,
    doc: 'An action (a request other than GET) lacks the session’s x-csrf-token header.',
  },
  CON_ERR_FORBIDDEN: {
    status: 403,
    retriable: false,
    doc: 'The action needs the admin role; the session is a viewer’s.',
  },
  CON_ERR_NOT_FOUND: {
    status: 404,
    retriable: false,
    doc: 'No such dataset, batch, run, lineage, dead-letter topic or API route (or a service answered 404 to the console).',
  },
  CON_ERR_REPLAY_REFUSED: {
    status: 409,
    retriable: false,
    doc: 'The dead letter cannot be replayed (already replayed, not found, or its original message cannot be decoded).',
  },
  CON_ERR_UNAUTHENTICATED: { status: 401, retriable: false, doc: 'No valid session cookie: log in first.' },
  CON_ERR_WEB_NOT_BUILT: {
    status: 503,
    retriable: false,
    doc: 'The console’s web client is not built: run npm run build -w @tributary/console.',
  },
  CON_ERR_UPSTREAM: {
    status: 502,
    retriable: true,
    doc: 'A service the console reads answered an error or did not answer; the message names the service and its answer.',
  },

  CONN_ERR_AUTH: {
    status: 500,
    retriable: false,
    doc: 'A server refused the service’s credentials at start-up; the message names the setting to fix.',
  },
  CONN_ERR_TLS: {
    status: 500,
    retriable: false,
    doc: 'TLS to a server cannot be set up at start-up (its certificate is not trusted, or a CA is given for a URL without TLS); the message names the setting to fix.',
  },

  CONTRACT_ERR_INVALID: {
    status: 400,
    retriable: false,
    doc: 'A data contract file is invalid or declares another name@version than its path.',
  },
  CONTRACT_ERR_UNKNOWN: {
    status: 404,
    retriable: false,
    doc: 'The data contract name@version is not published in the catalog.',
  },

  DB_ERR_CONNECTION: {
    status: 503,
    retriable: true,
    doc: 'Postgres is unreachable or closed the connection; retried.',
  },
  DB_ERR_CONSTRAINT: {
    status: 500,
    retriable: false,
    doc: 'A Postgres constraint (foreign key, not null, check) refused a write.',
  },
  DB_ERR_OTHER: {
    status: 500,
    retriable: false,
    doc: 'Any other Postgres error (the message is the server’s).',
  },
  DB_ERR_SERIALIZATION: {
    status: 503,
    retriable: true,
    doc: 'A serialization failure or deadlock: the transaction is retried.',
  },
  DB_ERR_UNIQUE_VIOLATION: {
    status: 409,
    retriable: false,
    doc: 'A unique constraint refused a write: for an idempotent consumer, the work was already done.',
  },

  DLQ_ERR_BAD_REQUEST: {
    status: 400,
    retriable: false,
    doc: 'A dead-letter request is malformed: an --offset that is not <partition>:<offset>, or both or neither of --offset and --all.',
  },
  DLQ_ERR_MARKER_NOT_RECORDED: {
    status: 500,
    retriable: false,
    doc: 'A dead letter was replayed but its replay marker could not be written: a later replay of it will not be refused.',
  },
  DLQ_ERR_NOT_FOUND: {
    status: 404,
    retriable: false,
    doc: 'No dead-letter topic (wrong topic prefix?), no dead letter at that partition and offset, or the original topic of a dead letter no longer exists.',
  },
  DLQ_ERR_NOT_REPLAYABLE: {
    status: 409,
    retriable: false,
    doc: 'The dead letter cannot be replayed: its envelope or original message cannot be decoded, or it was replayed already.',
  },

  DVC_ERR_INVALID: {
    status: 422,
    retriable: false,
    doc: 'A DVC file, md5, path or directory object is malformed, or a directory holds a file DVC cannot track.',
  },

  EVT_ERR_DECODE: {
    status: 422,
    retriable: false,
    doc: 'A message cannot be decoded: not registry-framed Avro, or its writer schema cannot be read as the local schema. Dead-lettered.',
  },
  EVT_ERR_EMPTY: {
    status: 422,
    retriable: false,
    doc: 'A message has no value (a tombstone). Dead-lettered.',
  },
  EVT_ERR_INCOMPATIBLE_SCHEMA: {
    status: 409,
    retriable: false,
    doc: 'The schema registry refused a schema as incompatible with the subject’s earlier versions.',
  },
  EVT_ERR_INVALID: {
    status: 422,
    retriable: false,
    doc: 'An event decoded but breaks its validator (or was about to be published so); `details.problems` lists why.',
  },
  EVT_ERR_REGISTRY_UNAVAILABLE: {
    status: 503,
    retriable: true,
    doc: 'The schema registry failed or did not answer; retried.',
  },
  EVT_ERR_REGISTRY_REFUSED: {
    status: 502,
    retriable: false,
    doc: 'The schema registry refused a request other than a schema (e.g. setting a subject’s compatibility); the message has its answer.',
  },
  EVT_ERR_UNKNOWN_SCHEMA: {
    status: 422,
    retriable: false,
    doc: 'A message names a schema id the registry does not know. Dead-lettered.',
  },

  ING_ERR_ADMIN_DISABLED: {
    status: 503,
    retriable: false,
    doc: 'The ingestor’s admin API (the dataset catalog) is off: set ADMIN_TOKEN on the ingestor.',
  },
  ING_ERR_BAD_MANIFEST: {
    status: 400,
    retriable: false,
    doc: 'A landing folder’s batch.json is not valid JSON or not a valid manifest.',
  },
  ING_ERR_BAD_REQUEST: {
    status: 400,
    retriable: false,
    doc: 'An ingestor request is malformed (query, path or body); the message names each problem.',
  },
  ING_ERR_BAD_UPLOAD: {
    status: 400,
    retriable: false,
    doc: 'An upload (POST /batches) is malformed: a missing or invalid form field, a bad file path, a bad manifest.',
  },
  ING_ERR_BATCH_CONFLICT: {
    status: 409,
    retriable: false,
    doc: 'The batch id was used before for other content.',
  },
  ING_ERR_BATCH_TOO_LARGE: {
    status: 413,
    retriable: false,
    doc: 'The upload is larger than MAX_BATCH_BYTES.',
  },
  ING_ERR_CHECKSUM_MISMATCH: {
    status: 422,
    retriable: false,
    doc: 'A file’s bytes do not hash to the checksum the producer declared.',
  },
  ING_ERR_CONTRACT_NOT_ACCEPTED: {
    status: 422,
    retriable: false,
    doc: 'The dataset’s declaration does not accept the contract version the batch names.',
  },
  ING_ERR_FILE_MISSING: {
    status: 422,
    retriable: false,
    doc: 'A file the batch names is not in the landing area.',
  },
  ING_ERR_FILE_TOO_LARGE: {
    status: 413,
    retriable: false,
    doc: 'A file of the upload is larger than MAX_FILE_BYTES.',
  },
  ING_ERR_INVALID_BATCH: {
    status: 400,
    retriable: false,
    doc: 'The batch is not valid (an invalid file path, a duplicate file, no files).',
  },
  ING_ERR_LANDING_FOLDER: {
    status: 422,
    retriable: false,
    doc: 'A landing folder is claimed by two declarations, or named after a dataset that lands elsewhere.',
  },
  ING_ERR_NOT_FOUND: { status: 404, retriable: false, doc: 'No such ingestor route.' },
  ING_ERR_NOT_MULTIPART: {
    status: 415,
    retriable: false,
    doc: 'POST /batches takes multipart/form-data.',
  },
  ING_ERR_SCHEMA_VERSION_MISMATCH: {
    status: 422,
    retriable: false,
    doc: 'A file declares a schema version other than the contract’s.',
  },
  ING_ERR_SIZE_MISMATCH: {
    status: 422,
    retriable: false,
    doc: 'A file’s size is not the size the producer declared.',
  },
  ING_ERR_SOURCE_NOT_ALLOWED: {
    status: 422,
    retriable: false,
    doc: 'A file lies outside the data store areas the ingestor may read.',
  },
  ING_ERR_SOURCE_READ: {
    status: 503,
    retriable: true,
    doc: 'A file of the batch could not be read; retried.',
  },
  ING_ERR_TOO_MANY_FILES: { status: 413, retriable: false, doc: 'The upload has more files than MAX_FILES.' },
  ING_ERR_UNAUTHORIZED: {
    status: 401,
    retriable: false,
    doc: 'An /admin request of the ingestor lacks the admin bearer token.',
  },
  ING_ERR_UNAVAILABLE: {
    status: 503,
    retriable: true,
    doc: 'The upload could not be stored (the data store or Postgres failed); retry later.',
  },
  ING_ERR_UNDECLARED_DATASET: {
    status: 422,
    retriable: false,
    doc: 'The batch names a dataset the catalog does not declare.',
  },
  ING_ERR_UNKNOWN_BATCH: { status: 404, retriable: false, doc: 'The ingestor knows no batch with this id.' },
  ING_ERR_UNKNOWN_CONTRACT: {
    status: 422,
    retriable: false,
    doc: 'The batch names a contract version that is not published.',
  },

  KAFKA_ERR_NO_LEADER: {
    status: 503,
    retriable: true,
    doc: 'Topics have no partition leader yet after they were created; waited for.',
  },
  KAFKA_ERR_READ_TIMEOUT: {
    status: 504,
    retriable: true,
    doc: 'Reading a topic to its end did not finish in time.',
  },

  LOCK_ERR_FENCED: {
    status: 409,
    retriable: true,
    doc: 'A master commit was refused: a newer lock holder committed first. Retried against the new master.',
  },
  LOCK_ERR_TIMEOUT: { status: 503, retriable: true, doc: 'Timed out waiting for a master lock; retried.' },

  NOT_ERR_BAD_REQUEST: { status: 400, retriable: false, doc: 'A notifier request is malformed.' },
  NOT_ERR_DELIVERY: {
    status: 502,
    retriable: true,
    doc: 'A notification (Slack, webhook, e-mail) could not be delivered; retried with backoff.',
  },
  NOT_ERR_NO_CHANNEL: {
    status: 500,
    retriable: false,
    doc: 'A notification has no channel to go to: no Slack webhook kept with it nor configured.',
  },
  NOT_ERR_NOT_FOUND: { status: 404, retriable: false, doc: 'No such notifier route.' },

  OUTBOX_ERR_UNKNOWN_EVENT: {
    status: 500,
    retriable: false,
    doc: 'The outbox holds an event the relay has no definition for (a newer version of the service wrote it).',
  },
  OUTBOX_ERR_RECONCILE: {
    status: 503,
    retriable: true,
    doc: 'The relay could not read a topic’s end to reconcile the outbox in time; retried.',
  },

  PRE_ERR_BAD_REQUEST: {
    status: 400,
    retriable: false,
    doc: 'A preprocessor request is malformed (a dry run without contract, a bad limit or version).',
  },
  PRE_ERR_BATCH_CONFLICT: {
    status: 409,
    retriable: false,
    doc: 'The batch id was merged before with other content.',
  },
  PRE_ERR_CONTRACT_CHANGED: {
    status: 409,
    retriable: false,
    doc: 'The dataset’s contract changed while the batch was processed; the batch is rejected.',
  },
  PRE_ERR_CONTRACT_VIOLATION: {
    status: 422,
    retriable: false,
    doc: 'Rows break the contract and the contract rejects the batch, or no row is left.',
  },
  PRE_ERR_EMPTY_BATCH: { status: 422, retriable: false, doc: 'The batch has no rows.' },
  PRE_ERR_IMAGE_UNKNOWN: {
    status: 422,
    retriable: false,
    doc: 'A row links to an image that is neither in the master nor in the batch.',
  },
  PRE_ERR_LINEAGE_NOT_FOUND: {
    status: 404,
    retriable: false,
    doc: 'No batch, master version or dataset version matches the lineage query.',
  },
  PRE_ERR_LOCK_LOST: {
    status: 503,
    retriable: true,
    doc: 'The master lock was lost before the commit; the batch is merged again.',
  },
  PRE_ERR_NO_TABLE: { status: 422, retriable: false, doc: 'The batch has no table file.' },
  PRE_ERR_NOT_FOUND: {
    status: 404,
    retriable: false,
    doc: 'No master for this dataset, or no such preprocessor route.',
  },
  PRE_ERR_NOT_MULTIPART: { status: 415, retriable: false, doc: 'POST /validate takes multipart/form-data.' },
  PRE_ERR_RAW_OUTSIDE_STORE: {
    status: 422,
    retriable: false,
    doc: 'The batch’s raw location is not inside the data store.',
  },
  PRE_ERR_ROWS_QUARANTINED: {
    status: 422,
    retriable: false,
    doc: 'Some rows broke the contract and were quarantined; the others were merged.',
  },
  PRE_ERR_TABLE_MISSING: {
    status: 422,
    retriable: false,
    doc: 'A dry run names a table that is not in the upload.',
  },
  PRE_ERR_TABLE_UNREADABLE: {
    status: 422,
    retriable: false,
    doc: 'A table file cannot be read in its format (CSV, JSON lines, Parquet).',
  },
  PRE_ERR_TOO_MANY_BAD_ROWS: {
    status: 422,
    retriable: false,
    doc: 'More rows break the contract than its max_bad_row_ratio tolerates.',
  },
  PRE_ERR_UNAUTHORIZED: {
    status: 401,
    retriable: false,
    doc: 'An /admin request of the preprocessor lacks the admin bearer token.',
  },
  PRE_ERR_UNKNOWN_BATCH: { status: 404, retriable: false, doc: 'No batch with this id was processed here.' },
  PRE_ERR_UNKNOWN_DIRECTORY: {
    status: 404,
    retriable: false,
    doc: 'No DVC directory object with this md5 in the data store.',
  },
  PRE_ERR_UNKNOWN_VERSION: { status: 404, retriable: false, doc: 'No such version of the dataset’s master.' },
  PRE_ERR_UPLOAD_TOO_LARGE: {
    status: 413,
    retriable: false,
    doc: 'A dry run’s upload is larger than its limit.',
  },

  PUB_ERR_ARTIFACT_MISSING: {
    status: 422,
    retriable: false,
    doc: 'An artifact the publisher must archive does not exist in its store.',
  },
  PUB_ERR_BAD_REQUEST: { status: 400, retriable: false, doc: 'A publisher request is malformed.' },
  PUB_ERR_CANDIDATE_CHECKSUM: {
    status: 422,
    retriable: false,
    doc: 'The candidate read from the refresh store does not hash to the checksum of quality.evaluated.',
  },
  PUB_ERR_INJECTED_FAULT: {
    status: 500,
    retriable: true,
    doc: 'A fault injected on purpose (PUBLISH_FAULT_INJECTION) to test recovery.',
  },
  PUB_ERR_NOT_FOUND: {
    status: 404,
    retriable: false,
    doc: 'No archive of this dataset version, or no such route.',
  },
  PUB_ERR_UNAUTHORIZED: {
    status: 401,
    retriable: false,
    doc: 'An /admin request of the publisher lacks the admin bearer token.',
  },

  QG_ERR_AMBIGUOUS_JOB: {
    status: 400,
    retriable: false,
    doc: 'The dataset has several refresh jobs: name one as "job".',
  },
  QG_ERR_AUGMENTATION: {
    status: 422,
    retriable: false,
    doc: 'An augmentation of the refresh job failed or names what the engine does not have.',
  },
  QG_ERR_BAD_REQUEST: { status: 400, retriable: false, doc: 'A quality-gate request is malformed.' },
  QG_ERR_CLUSTER_JOB_FAILED: {
    status: 502,
    retriable: false,
    doc: 'The Ray job failed, was stopped, or wrote outside the refresh store.',
  },
  QG_ERR_CLUSTER_JOB_TIMEOUT: {
    status: 504,
    retriable: true,
    doc: 'The Ray job did not finish within the job’s engine_timeout and was stopped; retried.',
  },
  QG_ERR_CLUSTER_REFUSED: {
    status: 502,
    retriable: false,
    doc: 'The Ray cluster refused the job (retriable when it answered 5xx).',
  },
  QG_ERR_CLUSTER_UNAVAILABLE: {
    status: 503,
    retriable: true,
    doc: 'The Ray cluster is unreachable; retried.',
  },
  QG_ERR_ENGINE: { status: 500, retriable: false, doc: 'The embedded engine (DuckDB) failed in a step.' },
  QG_ERR_ENGINE_UNAVAILABLE: {
    status: 422,
    retriable: false,
    doc: 'The refresh job declares engine: ray, but the deployment has no Ray cluster (RAY_ADDRESS unset).',
  },
  QG_ERR_ENGINE_UNSUPPORTED: {
    status: 422,
    retriable: false,
    doc: 'Engine ray cannot run this job (its augmentations, or a refresh store outside S3): use engine duckdb.',
  },
  QG_ERR_MASTER_LOCATION: {
    status: 422,
    retriable: false,
    doc: 'A master version’s location does not end in master/<dataset>/<dataset>-v<version>.',
  },
  QG_ERR_NOT_FOUND: { status: 404, retriable: false, doc: 'No such run, report, baseline or route.' },
  QG_ERR_RUN_CANCELLED: {
    status: 409,
    retriable: false,
    doc: 'The refresh run was cancelled (by an operator); its engine work stops and it announces nothing.',
  },
  QG_ERR_RUN_ENDED: {
    status: 409,
    retriable: false,
    doc: 'The refresh run has already ended: it cannot be cancelled.',
  },
  QG_ERR_SOURCE_CHECKSUM: {
    status: 422,
    retriable: false,
    doc: 'A source’s bytes or row count do not match what was announced.',
  },
  QG_ERR_SOURCE_FORMAT: {
    status: 422,
    retriable: false,
    doc: 'A source is not a .jsonl, .csv or .parquet file, or cannot be read as one.',
  },
  QG_ERR_SOURCE_LOCATION: {
    status: 422,
    retriable: false,
    doc: 'Engine ray reads its sources from S3 only, and a source is elsewhere.',
  },
  QG_ERR_SOURCE_MISSING: { status: 503, retriable: true, doc: 'A source does not exist (yet); retried.' },
  QG_ERR_SOURCE_READ: { status: 503, retriable: true, doc: 'A source cannot be read; retried.' },
  QG_ERR_TEXT_COLUMN: {
    status: 422,
    retriable: false,
    doc: 'The job’s text column is absent from the candidate or holds no text.',
  },
  QG_ERR_UNAUTHORIZED: {
    status: 401,
    retriable: false,
    doc: 'An /admin request of the quality gate lacks the admin bearer token.',
  },
  QG_ERR_UNKNOWN_DATASET: {
    status: 404,
    retriable: false,
    doc: 'No refresh job of this dataset is declared.',
  },
  QG_ERR_UNKNOWN_JOB: {
    status: 404,
    retriable: false,
    doc: 'The refresh job is not (or no longer) declared.',
  },

  RTP_ERR_BAD_REQUEST: { status: 400, retriable: false, doc: 'A retrain-policy request is malformed.' },
  RTP_ERR_DECISION_VANISHED: {
    status: 503,
    retriable: true,
    doc: 'A retrain decision another writer stored was gone when read back (removed meanwhile); retried.',
  },
  RTP_ERR_INVALID_THRESHOLD: {
    status: 400,
    retriable: false,
    doc: 'RETRAIN_THRESHOLD_ROWS must be a whole number >= 0.',
  },
  RTP_ERR_MLFLOW_ANSWER: {
    status: 502,
    retriable: false,
    doc: 'MLflow answered something the retrain policy cannot use.',
  },
  RTP_ERR_MLFLOW_AUTH: {
    status: 502,
    retriable: false,
    doc: 'MLflow refused the credentials: check MLFLOW_TRACKING_TOKEN (or username and password).',
  },
  RTP_ERR_MLFLOW_UNAVAILABLE: {
    status: 503,
    retriable: true,
    doc: 'MLflow failed or did not answer; retried.',
  },
  RTP_ERR_NOT_FOUND: { status: 404, retriable: false, doc: 'No such retrain decision or route.' },
  RTP_ERR_SETTING_INVALID: {
    status: 500,
    retriable: false,
    doc: 'The stored RETRAIN_THRESHOLD_ROWS is not a whole number.',
  },
  RTP_ERR_SETTING_MISSING: {
    status: 503,
    retriable: true,
    doc: 'RETRAIN_THRESHOLD_ROWS is not stored yet (the service seeds it at start); retried.',
  },
  RTP_ERR_UNAUTHORIZED: {
    status: 401,
    retriable: false,
    doc: 'An /admin request of the retrain policy lacks the admin bearer token.',
  },

  STORAGE_ERR_BAD_URI: {
    status: 500,
    retriable: false,
    doc: 'An object store URI cannot be opened (a file store needs an absolute root).',
  },
  STORAGE_ERR_DELETE: { status: 503, retriable: true, doc: 'Some objects could not be deleted; retried.' },
  STORAGE_ERR_INVALID_KEY: {
    status: 400,
    retriable: false,
    doc: 'An object key is invalid (absolute, with .., or outside the store).',
  },
  STORAGE_ERR_NOT_FOUND: { status: 404, retriable: false, doc: 'No object under this key.' },
  STORAGE_ERR_UNEXPECTED: {
    status: 502,
    retriable: false,
    doc: 'The object store answered a read without a body.',
  },
} as const satisfies Record<`${keyof typeof AREAS}_ERR_${string}`, ErrorSpec>;

/** A code of the catalog: a code that is not in it is a type error. */
export type ErrorCode = keyof typeof ERRORS;

/** The areas that have a code `<AREA>_ERR_<problem>`, e.g. the areas with a `_ERR_UNAUTHORIZED`. */
export type AreaWith<Problem extends string> = {
  [C in ErrorCode]: C extends `${infer A}_ERR_${Problem}` ? A : never;
}[ErrorCode];

/** True for a string that is a code of the catalog. */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERRORS, code);
}

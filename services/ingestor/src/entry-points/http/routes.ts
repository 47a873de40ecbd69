import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import multipart, { type Multipart } from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import { registerCatalogRoutes, type CatalogStore } from '@tributary/catalog';
import { AppError, isAppError } from '@tributary/errors';
import { z } from 'zod';
import { parseRequest, registerAdminRoutes } from '@tributary/runtime';
import { withSpan, type Logger } from '@tributary/telemetry';
import { parseContractRef, pathProblem } from '../../domain/batch.ts';
import type { BatchRepository, BatchSummary, DatasetCatalog, SubmittedFile } from '../../domain/ports.ts';
import { describeEarlier, submitBatch, type SubmitInput } from '../../domain/submit-batch.ts';
import type { UploadStaging } from '../../data-access/upload-staging.ts';

export interface RouteDeps {
  batches: BatchRepository & {
    list(filter: { dataset?: string | undefined; limit: number }): Promise<BatchSummary[]>;
  };
  staging: UploadStaging;
  /** Gives the current contract version of a declared dataset to an upload that names none. */
  catalog: DatasetCatalog;
  limits: { maxFileBytes: number; maxBatchBytes: number; maxFiles: number };
  logger: Logger;
  /** The admin API (the dataset catalog); off when no ADMIN_TOKEN is set. */
  admin: { token: string | undefined; tokenName: string; catalogStore: CatalogStore };
}

const DRAIN_TIMEOUT_MS = 30_000;
const batchesQuery = z.object({
  dataset: z.string().trim().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
const MAX_FIELD_BYTES = 4 * 1024 * 1024;

/**
 * The ingestor's API: `POST /batches` takes a batch from producers who do not speak Kafka
 * (multipart, streamed to the landing area of the data store) and `GET /batches/:id` tells what
 * became of it. Under `/admin`, behind ADMIN_TOKEN, the dataset catalog (`tributary datasets …`) and
 * the list of the latest batches.
 * Health, readiness and metrics come from the runtime.
 */
export function registerRoutes(http: FastifyInstance, deps: RouteDeps): void {
  const { token, tokenName, catalogStore } = deps.admin;
  if (token === undefined) {
    http.all('/admin/*', () => {
      throw new AppError(
        'ING_ERR_ADMIN_DISABLED',
        'the admin API (dataset catalog) is off: set ADMIN_TOKEN on the ingestor',
      );
    });
  } else {
    registerAdminRoutes(http, { token, area: 'ING' }, (admin) => {
      registerCatalogRoutes(admin, { store: catalogStore, tokenName });
      // The latest batches with each stage's status and duration (the console's live list).
      admin.get('/batches', async (req, reply) => {
        const query = parseRequest('ING', batchesQuery, req.query, reply);
        if (!query) return reply;
        return { batches: await deps.batches.list({ dataset: query.dataset, limit: query.limit }) };
      });
    });
  }

  void http.register(async (scope) => {
    await scope.register(multipart, { preservePath: true });

    scope.get<{ Params: { id: string } }>('/batches/:id', async (req) => {
      const view = await deps.batches.find(req.params.id);
      if (!view) {
        throw new AppError('ING_ERR_UNKNOWN_BATCH', `No batch ${req.params.id}`);
      }
      return view;
    });

    scope.post('/batches', async (req, reply) => {
      if (!req.isMultipart()) {
        throw new AppError('ING_ERR_NOT_MULTIPART', 'POST /batches takes multipart/form-data');
      }
      const declaredLength = Number(req.headers['content-length'] ?? Number.NaN);
      if (declaredLength > deps.limits.maxBatchBytes + deps.limits.maxFiles * 1024 + MAX_FIELD_BYTES) {
        // Known too large before a byte is read; the connection closes so the body is not sent for nothing.
        void reply.header('connection', 'close');
        throw batchTooLarge(deps.limits.maxBatchBytes);
      }
      return withSpan('POST /batches', { 'http.route': '/batches' }, async (span) => {
        const runId = span.spanContext().traceId;
        const uploadId = deps.staging.newUploadId();
        let received: Received;
        try {
          received = await receiveUpload(req.parts({ limits: partLimits(deps.limits) }), uploadId, deps);
        } catch (err) {
          await drainRequest(req.raw);
          await deps.staging
            .discard(uploadId)
            .catch((e: unknown) => deps.logger.warn({ err: e }, 'discard failed'));
          throw uploadError(multipartLimitError(err, deps.limits) ?? err, deps.logger);
        }
        try {
          const { contract, ...rest } = submissionFrom(received);
          const input: SubmitInput = {
            ...rest,
            contract: contract ?? (await currentContract(deps.catalog, rest.dataset)),
          };
          const submitted = await submitBatch({ batches: deps.batches }, input, runId);
          span.setAttributes({
            'tributary.batch_id': submitted.batchId,
            'tributary.dataset': submitted.dataset,
          });
          deps.logger.info(
            { batch_id: submitted.batchId, files: input.files.length, content_hash: submitted.contentHash },
            'upload submitted',
          );
          return await reply.code(202).send({
            batch_id: submitted.batchId,
            dataset: submitted.dataset,
            content_hash: submitted.contentHash,
            run_id: submitted.runId,
            trace_id: submitted.runId,
            files: input.files.length,
            status_url: `/batches/${encodeURIComponent(submitted.batchId)}`,
            // The same content was decided on before under this id: that answer, when, and whether it stands.
            earlier_decision:
              submitted.earlier === undefined
                ? null
                : {
                    status: submitted.earlier.status,
                    error_code: submitted.earlier.errorCode,
                    reason: submitted.earlier.reason,
                    report_uri: submitted.earlier.reportUri,
                    decided_at: submitted.earlier.decidedAt,
                    stands: submitted.earlier.stands,
                    message: describeEarlier(submitted.batchId, submitted.earlier),
                  },
          });
        } catch (err) {
          await deps.staging
            .discard(uploadId)
            .catch((e: unknown) => deps.logger.warn({ err: e }, 'discard failed'));
          throw uploadError(err, deps.logger);
        }
      });
    });
  });
}

interface Received {
  fields: Record<string, string>;
  files: { path: string; uri: string; sha256: string; size: number; head: Buffer }[];
}

/** Reads the parts in order, streaming each file part to the staging area as it arrives. */
async function receiveUpload(
  parts: AsyncIterable<Multipart>,
  uploadId: string,
  deps: RouteDeps,
): Promise<Received> {
  const fields: Record<string, string> = {};
  const files: Received['files'] = [];
  const seen = new Set<string>();
  let total = 0;
  for await (const part of parts) {
    if (part.type === 'field') {
      fields[part.fieldname] = typeof part.value === 'string' ? part.value : JSON.stringify(part.value);
      continue;
    }
    const path = part.filename;
    const problem = pathProblem(path);
    if (problem !== undefined) throw badRequest(`file part "${path}": ${problem}`);
    if (seen.has(path)) throw badRequest(`file part "${path}" is sent twice`);
    seen.add(path);
    const staged = await deps.staging.stage(uploadId, path, part.file, {
      maxFileBytes: deps.limits.maxFileBytes,
      batchBytesLeft: deps.limits.maxBatchBytes - total,
      maxBatchBytes: deps.limits.maxBatchBytes,
    });
    total += staged.size;
    files.push({ path, uri: staged.uri, sha256: staged.sha256, size: staged.size, head: staged.head });
  }
  return { fields, files };
}

const manifestFile = (v: unknown) =>
  typeof v === 'object' && v !== null && typeof (v as { path?: unknown }).path === 'string';

/**
 * The submission an upload describes: form fields, plus an optional `manifest` with declared
 * checksums. Without a `contract` field, the contract is left to the dataset's declaration.
 */
function submissionFrom(
  received: Received,
): Omit<SubmitInput, 'contract'> & { contract: SubmitInput['contract'] | undefined } {
  const { fields } = received;
  const required = (name: string) => {
    const value = fields[name]?.trim();
    if (!value) throw badRequest(`the form field "${name}" is required`);
    return value;
  };
  const contractField = fields.contract?.trim();
  const contract = contractField ? parseContractRef(contractField) : undefined;
  if (contractField && !contract)
    throw badRequest('the form field "contract" must read <name>@<major.minor.patch>');
  const source = fields.source?.trim() || 'HTTP';
  if (source !== 'HTTP' && source !== 'CLI') throw badRequest('the form field "source" is HTTP or CLI');
  if (received.files.length === 0) throw badRequest('the upload has no file parts');

  type Declared = {
    path: string;
    sha256?: unknown;
    size?: unknown;
    role?: unknown;
    schema_version?: unknown;
  };
  let declared = new Map<string, Declared>();
  if (fields.manifest !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fields.manifest);
    } catch {
      throw badRequest('the form field "manifest" is not JSON');
    }
    const list = (parsed as { files?: unknown }).files;
    if (!Array.isArray(list) || !list.every(manifestFile)) {
      throw badRequest('the manifest must be {"files": [{"path": ..., "sha256": ..., "size": ...}]}');
    }
    declared = new Map((list as Declared[]).map((f) => [f.path, f]));
    const uploaded = new Set(received.files.map((f) => f.path));
    const absent = [...declared.keys()].filter((p) => !uploaded.has(p));
    if (absent.length > 0)
      throw badRequest(`the manifest names files that were not uploaded: ${absent.join(', ')}`);
  }
  const schemaVersion = fields.schema_version?.trim() || null;
  const files: SubmittedFile[] = received.files.map((f) => {
    const d = declared.get(f.path);
    const role = d?.role === 'TABLE' || d?.role === 'IMAGE' ? d.role : undefined;
    return {
      path: f.path,
      uri: f.uri,
      // The producer's checksum, when declared, is what the ingest verifies the stored bytes against.
      sha256: typeof d?.sha256 === 'string' ? d.sha256 : f.sha256,
      size: typeof d?.size === 'number' ? d.size : f.size,
      ...(role === undefined ? {} : { role }),
      head: f.head,
      schemaVersion:
        typeof d?.schema_version === 'string' || d?.schema_version === null
          ? d.schema_version
          : schemaVersion,
    };
  });
  let attributes: Record<string, string> = {};
  if (fields.attributes !== undefined) {
    try {
      attributes = Object.fromEntries(
        Object.entries(JSON.parse(fields.attributes) as Record<string, unknown>).map(([k, v]) => [
          k,
          String(v),
        ]),
      );
    } catch {
      throw badRequest('the form field "attributes" must be a JSON object');
    }
  }
  return {
    dataset: required('dataset'),
    batchId: required('batch_id'),
    producer: fields.producer?.trim() || 'http',
    source,
    contract,
    files,
    attributes,
  };
}

/** The contract of an upload that names none: the declared dataset's `contract.current`. */
async function currentContract(catalog: DatasetCatalog, dataset: string): Promise<SubmitInput['contract']> {
  await catalog.reload();
  const declared = await catalog.dataset(dataset);
  if (!declared) {
    throw badRequest(
      `the form field "contract" is required: dataset ${dataset} is not declared, so it has no current contract version`,
    );
  }
  return { name: declared.contract.name, version: declared.contract.current };
}

function partLimits(limits: RouteDeps['limits']) {
  return {
    // One byte over the limit reaches the staging stream, which refuses it with a clear message.
    fileSize: limits.maxFileBytes + 1,
    files: limits.maxFiles,
    fields: 100,
    fieldSize: MAX_FIELD_BYTES,
    parts: limits.maxFiles + 100,
  };
}

/**
 * Reads and drops the rest of a refused request, so the client gets the error response instead
 * of a reset connection; a client that keeps sending past the timeout is cut off.
 */
async function drainRequest(raw: IncomingMessage): Promise<void> {
  if (raw.readableEnded || raw.destroyed) return;
  raw.resume();
  const timer = setTimeout(() => raw.destroy(), DRAIN_TIMEOUT_MS);
  try {
    await Promise.race([once(raw, 'end'), once(raw, 'close')]);
  } catch {
    // an aborted request: nothing left to answer
  } finally {
    clearTimeout(timer);
  }
}

/** The multipart parser's own limit errors, restated with the setting they come from. */
function multipartLimitError(err: unknown, limits: RouteDeps['limits']): AppError | undefined {
  const code = (err as { code?: unknown }).code;
  if (code === 'FST_FILES_LIMIT' || code === 'FST_PARTS_LIMIT') {
    return new AppError('ING_ERR_TOO_MANY_FILES', `the upload has more than ${limits.maxFiles} files`);
  }
  if (code === 'FST_REQ_FILE_TOO_LARGE') {
    return new AppError(
      'ING_ERR_FILE_TOO_LARGE',
      `a file is larger than the ${limits.maxFileBytes}-byte limit per file`,
    );
  }
  return undefined;
}

function badRequest(message: string): AppError {
  return new AppError('ING_ERR_BAD_UPLOAD', message);
}

function batchTooLarge(limit: number): AppError {
  return new AppError(
    'ING_ERR_BATCH_TOO_LARGE',
    `the upload is larger than the ${limit}-byte limit per batch`,
  );
}

/**
 * What a failed upload is answered with (by the server's error handler): an AppError as it is; the
 * multipart parser's own 4xx as ING_ERR_BAD_UPLOAD; anything else as ING_ERR_UNAVAILABLE (retry later).
 */
function uploadError(err: unknown, logger: Logger): AppError {
  if (isAppError(err)) return err;
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new AppError('ING_ERR_BAD_UPLOAD', `${e.code ?? ''} ${e.message ?? ''}`.trim(), { cause: err });
  }
  logger.error({ err }, 'upload failed');
  return new AppError('ING_ERR_UNAVAILABLE', 'the upload could not be stored; retry later', { cause: err });
}

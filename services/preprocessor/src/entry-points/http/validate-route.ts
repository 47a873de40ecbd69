import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import multipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { FILE_HEAD_BYTES, roleByContent } from '@tributary/contracts';
import { AppError } from '@tributary/errors';
import type { DryRunFile, DryRunInput, DryRunReport } from '../../domain/dry-run.ts';

export interface ValidateRouteDeps {
  dryRun: (input: DryRunInput, workDir: string) => Promise<DryRunReport>;
  workDir: string;
  /** Largest upload a dry run takes (all files together), in bytes. */
  maxBytes: number;
  maxFiles: number;
}

const CONTRACT = /^([a-z0-9][a-z0-9_-]*)@(\d+\.\d+\.\d+)$/;

const manifestSchema = z.object({
  files: z.array(
    z.object({
      path: z.string(),
      role: z.enum(['TABLE', 'IMAGE']).optional(),
      sha256: z.string().optional(),
    }),
  ),
});

const badRequest = (message: string) => new AppError('PRE_ERR_BAD_REQUEST', message);

/**
 * POST /validate: the dry run. Takes the same multipart form as the ingestor's POST /batches
 * (`dataset`, optional `contract` name@version, optional `manifest` with roles and sha256s, one
 * `file` part per file named by its path in the batch), runs the pipeline's checks and answers
 * with the report the batch would get. Files go to a scratch folder removed after the answer;
 * nothing is stored, published or recorded.
 */
export function registerValidateRoute(http: FastifyInstance, deps: ValidateRouteDeps): void {
  void http.register(async (scope) => {
    await scope.register(multipart, { preservePath: true });
    scope.post('/validate', async (req) => {
      if (!req.isMultipart()) {
        throw new AppError('PRE_ERR_NOT_MULTIPART', 'POST /validate takes multipart/form-data');
      }
      const dir = await mkdtemp(path.join(deps.workDir, 'dry-run-'));
      try {
        const fields: Record<string, string> = {};
        const received: Received[] = [];
        let total = 0;
        try {
          for await (const part of req.parts({
            limits: { files: deps.maxFiles, fileSize: deps.maxBytes, fieldSize: 16 * 1024 * 1024 },
          })) {
            if (part.type === 'field') {
              fields[part.fieldname] = String(part.value);
              continue;
            }
            const name = part.filename;
            const problemText = pathProblem(name);
            if (problemText) throw badRequest(`file ${JSON.stringify(name)}: ${problemText}`);
            if (received.some((f) => f.path === name)) throw badRequest(`file ${name} is sent twice`);
            const localPath = path.join(dir, `f${received.length}`);
            const hash = createHash('sha256');
            let size = 0;
            const head: Buffer[] = [];
            part.file.on('data', (chunk: Buffer) => {
              if (size < FILE_HEAD_BYTES) head.push(chunk.subarray(0, FILE_HEAD_BYTES - size));
              hash.update(chunk);
              size += chunk.length;
            });
            await pipeline(part.file, createWriteStream(localPath));
            total += size;
            if (part.file.truncated || total > deps.maxBytes) {
              throw new AppError(
                'PRE_ERR_UPLOAD_TOO_LARGE',
                `a dry run takes at most ${deps.maxBytes} bytes`,
              );
            }
            received.push({
              path: name,
              localPath,
              size,
              sha256: hash.digest('hex'),
              head: Buffer.concat(head),
            });
          }
        } catch (err) {
          const code = (err as { code?: string }).code;
          if (code === 'FST_FILES_LIMIT' || code === 'FST_REQ_FILE_TOO_LARGE') {
            throw new AppError('PRE_ERR_UPLOAD_TOO_LARGE', (err as Error).message, { cause: err });
          }
          throw err;
        }

        const input = dryRunInput(fields, received);
        if (typeof input === 'string') throw badRequest(input);
        return await deps.dryRun(input, dir);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}

/** A received file, with its first bytes (they decide its role when the manifest names none). */
type Received = Omit<DryRunFile, 'role'> & { head: Buffer };

/** The dry run's input from the form, or what is wrong with the form. */
function dryRunInput(fields: Record<string, string>, received: Received[]): DryRunInput | string {
  const dataset = fields.dataset?.trim();
  if (!dataset) return 'the form field "dataset" is required';
  let contract: DryRunInput['contract'];
  if (fields.contract !== undefined && fields.contract.trim() !== '') {
    const m = CONTRACT.exec(fields.contract.trim());
    if (!m)
      return `the form field "contract" must be name@version (e.g. penguins@1.0.0), not ${JSON.stringify(fields.contract)}`;
    contract = { name: m[1]!, version: m[2]! };
  }
  if (received.length === 0) return 'the upload holds no file';
  let declared = new Map<string, { role?: 'TABLE' | 'IMAGE' | undefined; sha256?: string | undefined }>();
  if (fields.manifest !== undefined) {
    let parsed;
    try {
      parsed = manifestSchema.safeParse(JSON.parse(fields.manifest));
    } catch {
      return 'the form field "manifest" is not JSON';
    }
    if (!parsed.success)
      return `the form field "manifest" is not {files: [{path, role, sha256}]}: ${parsed.error.message}`;
    declared = new Map(parsed.data.files.map((f) => [f.path, f]));
  }
  const files: DryRunFile[] = [];
  for (const { head, ...f } of received) {
    const d = declared.get(f.path);
    if (d?.sha256 !== undefined && d.sha256 !== f.sha256) {
      return `${f.path}: the manifest declares sha256 ${d.sha256}, the upload has ${f.sha256}`;
    }
    // As the ingestor: a declared role, else by content then name; anything else is a linked file.
    files.push({ ...f, role: d?.role ?? roleByContent(f.path, head) ?? 'IMAGE' });
  }
  const missing = [...declared.keys()].filter((p) => !received.some((f) => f.path === p));
  if (missing.length > 0) return `the manifest lists files the upload does not hold: ${missing.join(', ')}`;
  return { dataset, ...(contract ? { contract } : {}), files };
}

function pathProblem(p: string): string | undefined {
  if (p === '') return 'a file part needs a file name (its path in the batch)';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(p)) return 'the path contains a control character';
  if (p.startsWith('/') || p.includes('\\')) return 'paths are relative, with / between folders';
  if (p.split('/').some((s) => s === '' || s === '.' || s === '..'))
    return 'the path has an empty, . or .. segment';
  return undefined;
}

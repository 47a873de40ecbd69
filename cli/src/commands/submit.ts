import { createHash } from 'node:crypto';
import { createReadStream, openAsBlob } from 'node:fs';
import fs from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Option, type Command } from 'commander';
import pRetry from 'p-retry';
// The key module alone: the CLI must not load the S3 client just to order paths.
import { batchContentHash } from '@tributary/events/content-hash';
// The services' own rule for a file's role by its content and name (the CLI loads that module alone).
import { FILE_HEAD_BYTES, roleByContent } from '@tributary/contracts/file-formats';
import { defaultPreprocessorUrl, dryRunSubmit } from './dry-run.ts';
import { describeErrorBody } from '../http.ts';
import { postStream, streamingForm } from './upload-body.ts';

/** Files of the landing-zone protocol that are not batch content. */
const NOT_CONTENT = new Set(['_READY', '_PROCESSING', '_DONE', '_REJECTED', 'batch.json']);

interface LocalFile {
  path: string;
  absolute: string;
  size: number;
  role: 'TABLE' | 'IMAGE';
}

type HashedFile = LocalFile & { sha256: string };

interface SubmitOptions {
  dataset: string;
  contract?: string;
  batchId?: string;
  producer?: string;
  schemaVersion?: string;
  url: string;
  wait?: boolean;
  until: 'ingested' | 'merged';
  timeout: string;
  retryFor: string;
  table: string[];
  image: string[];
  json?: boolean;
  dryRun?: boolean;
  preprocessorUrl: string;
}

interface Accepted {
  batch_id: string;
  dataset: string;
  content_hash: string;
  run_id: string;
  trace_id: string;
  files: number;
  status_url: string;
  /** The decision already made on this content under this batch id (older ingestors: absent). */
  earlier_decision?: {
    status: 'INGESTED' | 'REJECTED';
    error_code: string | null;
    reason: string | null;
    decided_at: string | null;
    stands: boolean;
    message: string;
  } | null;
}

interface StatusView {
  status: string;
  raw_location: string | null;
  content_hash: string | null;
  merge: {
    status: 'MERGED' | 'REJECTED';
    master_version: number | null;
    rows_rejected: number | null;
    error_code: string | null;
    reason: string | null;
    report_uri: string | null;
    /** Absent from an ingestor older than this CLI. */
    unreferenced_files?: string[];
  } | null;
  attempts: { content_hash: string; status: string; error_code: string | null; reason: string | null }[];
}

/** An answer worth asking again: the ingestor is restarting or cannot reach its store or database. */
class RetriableAnswer extends Error {
  readonly status: number;
  readonly text: string;
  constructor(status: number, text: string) {
    super(`HTTP ${status} ${describeErrorBody(text)}`);
    this.status = status;
    this.text = text;
  }
}

/**
 * `tributary submit <dir>`: hashes every file of a folder, uploads them to the ingestor's
 * POST /batches with their declared checksums (so the ingestor verifies what it stored against
 * what the producer had), and prints where to follow the batch. With --wait it polls the status
 * endpoint until the batch is ingested (exit 0) or rejected (exit 2); with `--until merged`, until
 * the preprocessor merged it into a master version (exit 0) or rejected it (exit 2).
 */
export function registerSubmit(program: Command): void {
  program
    .command('submit')
    .description('Submit a folder of tables and images as one batch through the ingestor’s HTTP endpoint')
    .argument(
      '<dir>',
      'folder holding the batch (sub-folders kept as paths; dot-files and landing markers skipped)',
    )
    .requiredOption('--dataset <name>', 'dataset the batch merges into')
    .option(
      '--contract <name@version>',
      "data contract the tables follow, e.g. penguins@1.0.0 (default: the dataset declaration's current version)",
    )
    .option(
      '--batch-id <id>',
      'batch id (default: <dataset>-<first 16 hex of the content hash>, so a resubmission is idempotent)',
    )
    .option('--producer <name>', 'who submits the batch (default: the current user)')
    .option(
      '--table <glob>',
      'files that are tables, whatever their name or content (repeatable; * within a folder, ** across folders)',
      collectGlobs,
      [],
    )
    .option(
      '--image <glob>',
      'files that are images (or other files rows link to), whatever their name or content (repeatable)',
      collectGlobs,
      [],
    )
    .option('--schema-version <version>', 'schema version the tables declare (checked against the contract)')
    .option('--url <url>', 'ingestor base URL (env TRIBUTARY_INGESTOR_URL)', defaultUrl())
    .option('--wait', 'wait until the batch is ingested (or merged, see --until) or rejected')
    .addOption(
      new Option('--until <stage>', 'what --wait waits for: the ingest, or the merge into the master')
        .choices(['ingested', 'merged'])
        .default('ingested'),
    )
    .option('--timeout <seconds>', 'how long --wait waits', '300')
    .option(
      '--retry-for <seconds>',
      'how long to retry (with backoff) while the ingestor is unreachable or answers 5xx; the batch id makes retries idempotent',
      '60',
    )
    .option('--json', 'print the ingestor’s answer as JSON')
    .option(
      '--dry-run',
      'check the batch against its contract (the preprocessor’s POST /validate) and print the rejection report it would get; submits and stores nothing (exit 0: would merge, 2: would be rejected)',
    )
    .option(
      '--preprocessor-url <url>',
      'preprocessor base URL for --dry-run (env TRIBUTARY_PREPROCESSOR_URL)',
      defaultPreprocessorUrl(),
    )
    .action(async (dir: string, opts: SubmitOptions) => {
      const code = await submit(dir, opts);
      if (code !== 0) process.exitCode = code;
    });
}

function defaultUrl(): string {
  return process.env.TRIBUTARY_INGESTOR_URL ?? 'http://127.0.0.1:3001';
}

async function submit(dir: string, opts: SubmitOptions): Promise<number> {
  const root = path.resolve(dir);
  const { files, leftOut } = await collect(root, { table: opts.table, image: opts.image });
  if (leftOut.length > 0) {
    process.stderr.write(
      `left out, neither a table nor an image by name or content (name them with --table or --image to submit them): ${leftOut.join(', ')}\n`,
    );
  }
  if (files.length === 0) throw new Error(`${root} holds no files to submit`);
  const base = opts.url.replace(/\/+$/, '');
  /** The form's fields; the manifest's checksums and the default batch id need every file's hash. */
  const fieldsFor = (hashed: readonly HashedFile[]): [string, string][] => {
    const fields: [string, string][] = [
      ['dataset', opts.dataset],
      ['batch_id', opts.batchId ?? `${opts.dataset}-${batchContentHash(hashed).slice(0, 16)}`],
      ['producer', opts.producer ?? safeUser()],
    ];
    if (opts.contract) fields.push(['contract', opts.contract]);
    fields.push(['source', 'CLI']);
    if (opts.schemaVersion) fields.push(['schema_version', opts.schemaVersion]);
    const manifest = hashed.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size, role: f.role }));
    fields.push(['manifest', JSON.stringify({ files: manifest })]);
    return fields;
  };

  if (opts.dryRun) {
    const hashed = await Promise.all(files.map(async (f) => ({ ...f, ...(await hashFile(f.absolute)) })));
    const form = new FormData();
    for (const [name, value] of fieldsFor(hashed)) form.append(name, value);
    // File-backed blobs: fetch streams each file from disk, none is read into memory whole.
    for (const f of files) form.append('file', await openAsBlob(f.absolute), f.path);
    return dryRunSubmit(opts.preprocessorUrl, form, { json: opts.json, files: files.length });
  }

  const retryForMs = Number(opts.retryFor) * 1000;
  let attempts = 0;
  let posted: { status: number; text: string };
  /** Every file with the hash the last upload computed while streaming it. */
  let hashed: HashedFile[] | undefined;
  try {
    // Same batch id and content: the ingestor acknowledges a batch it already has, so a retry after
    // a lost answer submits nothing twice.
    posted = await pRetry(
      async () => {
        attempts++;
        // Files first, hashed as they stream; the fields that need the hashes follow them.
        const form = streamingForm(files, (streamed) => {
          hashed = files.map((f) => ({ ...f, ...streamed.get(f.path)! }));
          return fieldsFor(hashed);
        });
        const { status, text } = await postStream(`${base}/batches`, form.body, form.contentType);
        if (status >= 500) throw new RetriableAnswer(status, text);
        return { status, text };
      },
      {
        retries: Number.POSITIVE_INFINITY,
        maxRetryTime: retryForMs,
        minTimeout: 500,
        maxTimeout: 8000,
        factor: 2,
        shouldRetry: ({ error }) => error instanceof RetriableAnswer || isNetworkError(error),
        onFailedAttempt: ({ error, attemptNumber }) => {
          if (error instanceof RetriableAnswer || isNetworkError(error))
            process.stderr.write(
              `attempt ${attemptNumber}: ${base} ${error instanceof RetriableAnswer ? `answered ${error.message}` : `unreachable (${networkCause(error)})`}; retrying for up to ${opts.retryFor} s\n`,
            );
        },
      },
    );
  } catch (err) {
    if (!(err instanceof RetriableAnswer) && !isNetworkError(err)) throw err;
    const what =
      err instanceof RetriableAnswer ? `answered ${err.message}` : `unreachable (${networkCause(err)})`;
    // No upload went through to its end: hash the files to ask what the ingestor knows of them.
    hashed ??= await Promise.all(files.map(async (f) => ({ ...f, ...(await hashFile(f.absolute)) })));
    const contentHash = batchContentHash(hashed);
    const batchId = opts.batchId ?? `${opts.dataset}-${contentHash.slice(0, 16)}`;
    throw new Error(
      `the ingestor at ${base} ${what} after ${attempts} attempts over ${opts.retryFor} s.\n${await knownState(base, batchId, contentHash)}`,
    );
  }
  const { status, text } = posted;
  if (status !== 202) {
    throw new Error(`the ingestor refused the batch (HTTP ${status}) ${describeErrorBody(text)}`);
  }
  const accepted = JSON.parse(text) as Accepted;
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ ...accepted, status_url: `${base}${accepted.status_url}` })}\n`);
  } else {
    const total = files.reduce((sum, f) => sum + f.size, 0);
    process.stdout.write(
      [
        `batch ${accepted.batch_id} submitted to ${accepted.dataset} (${files.length} files, ${total} bytes)`,
        `run id:       ${accepted.run_id}`,
        `content hash: ${accepted.content_hash}`,
        `status:       ${base}${accepted.status_url}`,
        `trace:        ${accepted.trace_id} (the Jaeger trace id of the run)`,
        '',
      ].join('\n'),
    );
    const earlier = accepted.earlier_decision;
    // An answer that is an earlier decision says so, when it was made, and how to resubmit.
    if (earlier?.stands === true && earlier.status === 'REJECTED') {
      process.stderr.write(`earlier decision (${earlier.decided_at ?? 'before'}): ${earlier.message}\n`);
    } else if (earlier) {
      process.stdout.write(`earlier decision (${earlier.decided_at ?? 'before'}): ${earlier.message}\n`);
    }
  }
  if (!opts.wait) return 0;
  return waitForOutcome(
    `${base}${accepted.status_url}`,
    accepted.content_hash,
    opts.until,
    Number(opts.timeout) * 1000,
    !opts.json,
  );
}

async function waitForOutcome(
  statusUrl: string,
  contentHash: string,
  until: 'ingested' | 'merged',
  timeoutMs: number,
  print: boolean,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let unreachable: string | undefined;
  while (Date.now() < deadline) {
    // The ingestor may restart while we wait: an unreachable status endpoint is asked again.
    const res = await fetch(statusUrl).catch((err: unknown) => {
      if (!isNetworkError(err)) throw err;
      if (unreachable === undefined && print) {
        process.stderr.write(`${statusUrl} unreachable (${networkCause(err)}); still waiting\n`);
      }
      unreachable = networkCause(err);
      return undefined;
    });
    if (res !== undefined) unreachable = undefined;
    if (res?.ok) {
      const view = (await res.json()) as StatusView;
      const attempt = view.attempts.find((a) => a.content_hash === contentHash);
      // The merge decision is about the batch's ingested content, which is ours when the hashes match.
      const merge = view.content_hash === contentHash ? view.merge : null;
      if (attempt?.status === 'INGESTED' && until === 'ingested') {
        if (print) process.stdout.write(`ingested: ${view.raw_location ?? ''}\n`);
        return 0;
      }
      if (attempt?.status === 'INGESTED' && merge?.status === 'MERGED') {
        if (print) {
          const quarantined = merge.rows_rejected
            ? `, ${merge.rows_rejected} rows quarantined: ${merge.report_uri ?? ''}`
            : '';
          process.stdout.write(`merged: master version ${merge.master_version ?? '?'}${quarantined}\n`);
          const unlinked = merge.unreferenced_files ?? [];
          if (unlinked.length > 0) {
            process.stderr.write(
              `warning: no row links to ${unlinked.join(', ')}: kept in the raw snapshot, not merged\n`,
            );
          }
        }
        return 0;
      }
      if (attempt?.status === 'INGESTED' && merge?.status === 'REJECTED') {
        process.stderr.write(
          `rejected by the preprocessor: ${merge.error_code ?? ''}: ${merge.reason ?? ''}${merge.report_uri ? ` (report: ${merge.report_uri})` : ''}\n`,
        );
        return 2;
      }
      if (attempt?.status === 'REJECTED') {
        process.stderr.write(`rejected: ${attempt.error_code ?? ''}: ${attempt.reason ?? ''}\n`);
        return 2;
      }
    }
    await sleep(500);
  }
  throw new Error(
    `no outcome after ${timeoutMs / 1000} s${unreachable === undefined ? '' : ` (the ingestor is unreachable: ${unreachable})`}; follow ${statusUrl}`,
  );
}

/** fetch's own failure: no connection, reset, DNS (undici throws TypeError('fetch failed') with a cause). */
function isNetworkError(err: unknown): err is TypeError {
  return err instanceof TypeError && err.message === 'fetch failed';
}

function networkCause(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}

/**
 * What is known of a batch whose submission got no answer: the ingestor's GET /batches/:id, when it
 * answers, says whether the batch (this content) was accepted and how far it went.
 */
async function knownState(base: string, batchId: string, contentHash: string): Promise<string> {
  const statusUrl = `${base}/batches/${encodeURIComponent(batchId)}`;
  const again = 'Submitting the same folder again is safe: the same batch id and content are one batch.';
  const res = await fetch(statusUrl).catch(() => undefined);
  if (res === undefined) {
    return `Whether batch ${batchId} was accepted is unknown (the status endpoint is unreachable too): check ${statusUrl} once the ingestor is back. ${again}`;
  }
  if (res.status === 404) {
    return `Batch ${batchId} was not accepted: the ingestor has no such batch (${statusUrl}). ${again}`;
  }
  if (!res.ok) {
    return `Whether batch ${batchId} was accepted is unknown: ${statusUrl} answered HTTP ${res.status}. ${again}`;
  }
  const view = (await res.json()) as StatusView;
  const ours = view.attempts.find((a) => a.content_hash === contentHash);
  if (ours === undefined) {
    return `Batch ${batchId} exists with other content (${view.status}); this content was not accepted (${statusUrl}).`;
  }
  return `Batch ${batchId} was accepted all the same: it is ${ours.status}${ours.error_code ? ` (${ours.error_code}: ${ours.reason ?? ''})` : ''}; follow ${statusUrl}`;
}

function collectGlobs(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** A path glob as a regular expression: `**` any number of folders, `*` and `?` within one name. */
function globRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      re += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * A file's role: what the producer named it (`--image`, `--table`), else its content (an image by
 * its magic bytes, whatever its name), else its name (an image extension: a corrupt image stays an
 * image, refused by row; a table format). Anything else (a README, notes) is not batch content.
 */
function roleFor(
  relPath: string,
  head: Buffer,
  named: { table: RegExp[]; image: RegExp[] },
): LocalFile['role'] | undefined {
  const asImage = named.image.some((g) => g.test(relPath));
  const asTable = named.table.some((g) => g.test(relPath));
  if (asImage && asTable) throw new Error(`${relPath} is named both by --image and by --table`);
  if (asImage) return 'IMAGE';
  if (asTable) return 'TABLE';
  return roleByContent(relPath, head);
}

async function readHead(file: string): Promise<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(FILE_HEAD_BYTES);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Every regular file below `root` as a posix path, hashed, with its role; dot-files and landing
 * markers skipped, files that are neither tables nor images left out (and listed).
 */
async function collect(
  root: string,
  globs: { table: readonly string[]; image: readonly string[] },
): Promise<{ files: LocalFile[]; leftOut: string[] }> {
  const named = { table: globs.table.map(globRegExp), image: globs.image.map(globRegExp) };
  const out: LocalFile[] = [];
  const leftOut: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (e.name.startsWith('.') || (rel === '' && NOT_CONTENT.has(e.name))) continue;
      const absolute = path.join(dir, e.name);
      const relPath = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(absolute, relPath);
      else if (e.isFile()) {
        const role = roleFor(relPath, await readHead(absolute), named);
        if (role === undefined) {
          leftOut.push(relPath);
          continue;
        }
        // Hashed later, while the upload streams it: each byte is read once.
        const { size } = await fs.stat(absolute);
        out.push({ path: relPath, absolute, size, role });
      }
    }
  };
  await walk(root, '');
  return { files: out, leftOut };
}

async function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

function safeUser(): string {
  try {
    return userInfo().username || 'cli';
  } catch {
    return 'cli';
  }
}

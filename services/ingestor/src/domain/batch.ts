import { roleByContent } from '@tributary/contracts';
import type { ErrorCode } from '@tributary/errors';
import type { BatchFile, FileRole } from '@tributary/events';

/** Stable codes of the ingest outcomes a producer can get back (batch.rejected, _REJECTED, HTTP). */
export const IngestErrorCode = {
  CHECKSUM_MISMATCH: 'ING_ERR_CHECKSUM_MISMATCH',
  SIZE_MISMATCH: 'ING_ERR_SIZE_MISMATCH',
  FILE_MISSING: 'ING_ERR_FILE_MISSING',
  SOURCE_NOT_ALLOWED: 'ING_ERR_SOURCE_NOT_ALLOWED',
  UNDECLARED_DATASET: 'ING_ERR_UNDECLARED_DATASET',
  CONTRACT_NOT_ACCEPTED: 'ING_ERR_CONTRACT_NOT_ACCEPTED',
  UNKNOWN_CONTRACT: 'ING_ERR_UNKNOWN_CONTRACT',
  SCHEMA_VERSION_MISMATCH: 'ING_ERR_SCHEMA_VERSION_MISMATCH',
  BATCH_CONFLICT: 'ING_ERR_BATCH_CONFLICT',
  INVALID_BATCH: 'ING_ERR_INVALID_BATCH',
  /** Landing zone only: a folder claimed by two declarations, or named after a dataset landing elsewhere. */
  LANDING_FOLDER: 'ING_ERR_LANDING_FOLDER',
} as const satisfies Record<string, ErrorCode>;
export type IngestErrorCode = (typeof IngestErrorCode)[keyof typeof IngestErrorCode];

/**
 * Rejections caused by something outside the batch's content: the catalog (an undeclared dataset, a
 * contract not accepted or not published) or where its files were to be read from. They do not bind
 * the batch id: the same content submitted again, once the cause is fixed, is processed again.
 */
const OUTSIDE_CAUSES: ReadonlySet<string> = new Set<string>([
  IngestErrorCode.UNDECLARED_DATASET,
  IngestErrorCode.CONTRACT_NOT_ACCEPTED,
  IngestErrorCode.UNKNOWN_CONTRACT,
  IngestErrorCode.FILE_MISSING,
  IngestErrorCode.SOURCE_NOT_ALLOWED,
]);

/**
 * Whether an earlier rejection with these problem codes stands for the same content (idempotent):
 * yes when any problem lies in the batch itself (checksums, sizes, ids, paths, declared schema
 * versions, a conflict); no when every problem came from outside it.
 */
export function rejectionStands(codes: readonly string[]): boolean {
  return codes.length === 0 || codes.some((c) => !OUTSIDE_CAUSES.has(c));
}

/** One thing wrong with a batch; a rejection report lists all of them. */
export interface Problem {
  code: IngestErrorCode;
  message: string;
  path?: string;
}

/** Dataset and batch ids become object-store path segments, so they are kept to a safe alphabet. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** Path segments DVC skips or refuses inside a tracked directory: a batch cannot carry them. */
const DVC_RESERVED_SEGMENTS = new Set(['.git', '.hg', '.dvc', '.dvcignore']);

/**
 * Role of a file when the producer did not say, by its first bytes, then its name: image bytes →
 * `IMAGE` whatever the name; Parquet bytes (a Spark `part-00000`) or a table format's extension →
 * `TABLE`; anything else (an .svg, a README) is a file rows may link to (`IMAGE`), never loaded as
 * a table, so it cannot make the whole batch unreadable: the preprocessor refuses a row linking to
 * a format its contract does not accept, and reports a file no row links to.
 */
export function roleOf(path: string, head: Uint8Array = new Uint8Array()): FileRole {
  return roleByContent(path, head) ?? 'IMAGE';
}

/** Why a file path cannot be part of a batch, or undefined when it can. */
export function pathProblem(path: string): string | undefined {
  if (path.length === 0) return 'the path is empty';
  if (path.length > 1024) return 'the path is longer than 1024 characters';
  // Control characters would make the content hash's line format ambiguous and break DVC's YAML.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'the path contains a control character';
  if (path.includes('\\')) return 'use "/" as the separator, not "\\"';
  if (path.startsWith('/')) return 'the path is absolute; paths are relative to the batch';
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.' || segment === '..')
      return 'the path has an empty, "." or ".." segment';
    if (DVC_RESERVED_SEGMENTS.has(segment)) return `"${segment}" cannot be tracked by DVC`;
    if (segment.startsWith('.tributary-tmp-')) return 'names starting with ".tributary-tmp-" are reserved';
  }
  return undefined;
}

/**
 * Checks what can be checked from a declaration alone, before any byte is read: ids, paths
 * (unique, and no file doubling as a folder), checksums' form and declared schema versions.
 */
export function declarationProblems(input: {
  dataset: string;
  batchId: string;
  files: readonly Pick<BatchFile, 'path' | 'sha256' | 'size_bytes'>[];
}): Problem[] {
  const problems: Problem[] = [];
  const invalid = (message: string, path?: string) =>
    problems.push({ code: IngestErrorCode.INVALID_BATCH, message, ...(path === undefined ? {} : { path }) });
  if (!ID_PATTERN.test(input.dataset))
    invalid(`dataset "${input.dataset}" is not a valid id (${ID_PATTERN.source})`);
  if (!ID_PATTERN.test(input.batchId))
    invalid(`batch id "${input.batchId}" is not a valid id (${ID_PATTERN.source})`);
  if (input.files.length === 0) invalid('the batch has no files');
  const paths = new Set<string>();
  for (const file of input.files) {
    const problem = pathProblem(file.path);
    if (problem !== undefined) invalid(`${file.path}: ${problem}`, file.path);
    else if (paths.has(file.path)) invalid(`${file.path}: declared twice`, file.path);
    paths.add(file.path);
    if (!/^[0-9a-f]{64}$/i.test(file.sha256))
      invalid(`${file.path}: "${file.sha256}" is not a hex sha256`, file.path);
    if (file.size_bytes !== null && file.size_bytes < 0) invalid(`${file.path}: negative size`, file.path);
  }
  for (const p of paths) {
    for (let slash = p.indexOf('/'); slash >= 0; slash = p.indexOf('/', slash + 1)) {
      if (paths.has(p.slice(0, slash)))
        invalid(`${p.slice(0, slash)}: is both a file and a folder`, p.slice(0, slash));
    }
  }
  return problems;
}

/** One reason line out of several problems: the first few, and how many more there are. */
export function summarise(problems: readonly Problem[]): string {
  const shown = problems.slice(0, 5).map((p) => p.message);
  const more = problems.length - shown.length;
  return more > 0 ? `${shown.join('; ')}; and ${more} more problem(s)` : shown.join('; ');
}

/** Parses `name@version` (the CLI, HTTP and batch.json spelling of a contract reference). */
export function parseContractRef(ref: string): { name: string; version: string } | undefined {
  const match = /^([a-z0-9][a-z0-9_-]*)@(\d+\.\d+\.\d+)$/.exec(ref.trim());
  return match ? { name: match[1]!, version: match[2]! } : undefined;
}

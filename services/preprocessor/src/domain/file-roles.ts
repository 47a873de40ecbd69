import { FILE_HEAD_BYTES, sniffImage, tableFormatOf } from '@tributary/contracts';
import { AppError } from '@tributary/errors';
import type { BatchIngested } from '@tributary/events';
import type { DataStore, TableFormat } from './ports.ts';

type BatchFile = BatchIngested['files'][number];

export interface SortedFiles {
  /** The files read as tables, in path order, each with its local copy and the format it is read in. */
  tables: { file: BatchFile; local: string; format: TableFormat }[];
  /** The files rows may link to through the contract's image column, by path. */
  linked: Map<string, BatchFile>;
}

/**
 * Which files of a batch are tables and which are files rows link to. The declared role, checked
 * against the content: a file declared a table whose bytes are an image is a linked file (the
 * contract's image column then says whether a row uses it; unused, it is reported, not fatal). A
 * table is read in the format its content says (Parquet by its magic bytes), else its name, else
 * JSON Lines or CSV by its first character, so a table named by its producer reads under any name.
 */
export async function sortFiles(
  store: DataStore,
  event: BatchIngested,
  rawPrefix: string,
  workDir: string,
): Promise<SortedFiles> {
  const linked = new Map(event.files.filter((f) => f.role === 'IMAGE').map((f) => [f.path, f]));
  const tables: SortedFiles['tables'] = [];
  const declared = event.files.filter((f) => f.role === 'TABLE').sort((a, b) => (a.path < b.path ? -1 : 1));
  for (const file of declared) {
    const local = await store.localCopy(`${rawPrefix}/${file.path}`, workDir);
    const head = await store.readHead(local, FILE_HEAD_BYTES);
    if (sniffImage(head) !== undefined) linked.set(file.path, file);
    else tables.push({ file, local, format: tableFormatOf(file.path, head) });
  }
  if (tables.length === 0) {
    throw new AppError('PRE_ERR_NO_TABLE', `batch ${event.batch_id} has no table file`);
  }
  return { tables, linked };
}

import { access } from 'node:fs/promises';
import { readContractFiles } from './files.ts';
import type { CatalogStore } from './store.ts';
import { isAppError } from '@tributary/errors';
import type { Logger } from '@tributary/telemetry';

/** What the start-up publication of a contracts folder did, contract by contract (`name@version`). */
export interface BootstrapResult {
  published: string[];
  unchanged: string[];
  refused: string[];
}

/**
 * Publishes the contracts of CONTRACTS_DIR into the catalog at start-up, one contract at a time: a
 * version already published with the same content is a no-op, a new version is published, and a
 * published version whose file was edited is refused (the catalog names both sha256s) and logged as
 * an error: the service starts anyway and keeps enforcing the published content. A database failure
 * stops the start (the runtime could not work anyway). Deployments publish with `tributary
 * datasets apply`; this keeps the folder of a development checkout (and older deployments) working.
 */
export async function publishContractsDir(
  store: CatalogStore,
  dir: string,
  opts: { actor: string; logger: Logger },
): Promise<BootstrapResult> {
  const result: BootstrapResult = { published: [], unchanged: [], refused: [] };
  const log = opts.logger.child({ contracts_dir: dir, actor: opts.actor });
  try {
    await access(dir);
  } catch {
    log.info('CONTRACTS_DIR does not exist: no contract published at start-up');
    return result;
  }
  let files;
  try {
    files = await readContractFiles(dir);
  } catch (err) {
    if (!isAppError(err)) throw err;
    log.error({ err }, `contracts of CONTRACTS_DIR not published at start-up: ${err.message}`);
    return result;
  }
  for (const file of files) {
    const spec = file.spec as { name?: unknown; version?: unknown };
    const key = `${String(spec.name)}@${String(spec.version)}`;
    try {
      const applied = await store.apply({ datasets: [], contracts: [file], actor: opts.actor });
      const action = applied.changes[0]?.action;
      if (action === 'published') {
        result.published.push(key);
        log.info({ contract: key, file: file.source, revision: applied.revision }, 'contract published');
      } else {
        result.unchanged.push(key);
      }
    } catch (err) {
      if (!isAppError(err) || !err.code.startsWith('CATALOG_ERR_')) throw err;
      result.refused.push(key);
      log.error(
        { contract: key, file: file.source, error_code: err.code, err },
        `contract file not published: ${err.message}`,
      );
    }
  }
  log.info(
    { published: result.published, unchanged: result.unchanged.length, refused: result.refused },
    'contracts of CONTRACTS_DIR checked against the catalog',
  );
  return result;
}

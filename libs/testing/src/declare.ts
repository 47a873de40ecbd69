import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import type { Catalog, CatalogStore, SourcedResource } from '@tributary/catalog';
import { waitFor } from './wait.ts';

const penguinsContract = new URL('../../../contracts/penguins/1.0.0.yaml', import.meta.url);

/**
 * Applies dataset declarations (with the repository's penguins contract) to a running service's
 * catalog, as `tributary datasets apply` does, and waits until the service has loaded them (it
 * polls the catalog's revision).
 */
export async function applyDeclarations(
  runtime: { catalogStore: CatalogStore; catalog: Catalog },
  datasets: SourcedResource[],
  actor: string,
): Promise<void> {
  const contract = {
    source: 'contracts/penguins/1.0.0.yaml',
    spec: parse(await readFile(penguinsContract, 'utf8')) as unknown,
  };
  const { revision } = await runtime.catalogStore.apply({ datasets, contracts: [contract], actor });
  await waitFor(() => (runtime.catalog.revision >= revision ? true : undefined), {
    what: `catalog revision ${revision} loaded`,
    timeoutMs: 10_000,
  });
}

import { loadContract } from '@tributary/contracts';
import type { ContractCatalog } from '../domain/ports.ts';

/** Data contracts read from CONTRACTS_DIR on each use, so a contract added on disk is seen at once. */
export class FileContractCatalog implements ContractCatalog {
  constructor(private readonly dir: string) {}

  async resolve(name: string, version: string): Promise<{ name: string; version: string }> {
    const contract = await loadContract(this.dir, name, version);
    return { name: contract.name, version: contract.version };
  }
}

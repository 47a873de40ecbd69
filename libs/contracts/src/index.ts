export { loadContract } from './load.ts';
export {
  columnSchema,
  contractSchema,
  imageRulesSchema,
  type ContractColumn,
  type DataContract,
  type ImageRules,
} from './schema.ts';

/** The repository's contracts folder (the default CONTRACTS_DIR). */
export const defaultContractsDir = new URL('../../../contracts/', import.meta.url);

export { loadContract } from './load.ts';
export {
  KEY_TYPES,
  columnSchema,
  columnType,
  contractSchema,
  imageRulesSchema,
  type ColumnType,
  type ContractColumn,
  type DataContract,
  type DataContractInput,
  type ImageRules,
} from './schema.ts';
export { compileContract, type RowValidator, type Violation, type ViolationRule } from './validator.ts';
export {
  FILE_HEAD_BYTES,
  isParquet,
  roleByContent,
  sniffImage,
  tableFormatOf,
  type FileRoleGuess,
  type TableFileFormat,
} from './file-formats.ts';
export { ASK_JS, columnRuleSql, patternToRe2, sourceKind, textFormRe2, type SourceKind } from './sql.ts';
export {
  DOC_BEGIN,
  DOC_END,
  listContracts,
  renderContractSection,
  renderContractsDoc,
  spliceGenerated,
} from './docs.ts';

/** The repository's contracts folder (the default CONTRACTS_DIR). */
export const defaultContractsDir = new URL('../../../contracts/', import.meta.url);

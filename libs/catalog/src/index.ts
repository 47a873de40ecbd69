export {
  baselineSchema,
  datasetDeclarationSchema,
  describeIssues,
  duration,
  fileSourceSchema,
  gateSchema,
  landingFolder,
  masterSourceSchema,
  notificationsSchema,
  refreshJobSchema,
  retrainPolicySchema,
  sourceSchema,
  type BaselineBody,
  type DatasetDeclaration,
  type DatasetDeclarationInput,
  type NotificationRoutes,
  type RefreshJob,
  type RefreshSource,
  type RetrainPolicyDeclaration,
} from './declaration.ts';
export { canonicalJson, diffSpecs, specHash, type FieldChange } from './diff.ts';
export {
  CatalogStore,
  catalogRefusal,
  type ApplyRequest,
  type ApplyResult,
  type CatalogChange,
  type CatalogStoreOptions,
  type ChangeAction,
  type PlannedChange,
  type PublishedContract,
  type SourcedResource,
  type StoredDataset,
} from './store.ts';
export { Catalog, type CatalogOptions, type DeclaredRefreshJob } from './catalog.ts';
export { interpolate, readContractFiles, readDeclarationFiles } from './files.ts';
export { declarationJsonSchema } from './json-schema.ts';
export { registerCatalogRoutes } from './routes.ts';

/** The catalog's SQL migrations, applied into CATALOG_SCHEMA by every service at start-up. */
export const catalogMigrations = new URL('../migrations/', import.meta.url);
export { publishContractsDir, type BootstrapResult } from './contract-bootstrap.ts';

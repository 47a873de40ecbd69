export type {
  Answer,
  BatchFact,
  CatalogFact,
  DecisionFact,
  LineageFacts,
  MasterVersionFact,
  QualityRunFact,
} from './facts.ts';
export { stitchLineage, formatLineage, type Lineage, type LineageLink, type LinkKind } from './stitch.ts';
export {
  httpLineageSources,
  mapAnswer,
  readJson,
  SCAN_LIMIT,
  type LineageSources,
  type ServiceUrls,
} from './sources.ts';
export { collectLineage, foundStart, queryLineage, type LineageQuery } from './collect.ts';

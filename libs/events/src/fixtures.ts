export { batchReadyFixture } from './batch-ready/fixture.ts';
export { batchIngestedFixture } from './batch-ingested/fixture.ts';
export { batchRejectedFixture } from './batch-rejected/fixture.ts';
export { masterVersionedFixture } from './master-versioned/fixture.ts';
export { qualityEvaluatedFixture, qualityEvaluatedTaskFailedFixture } from './quality-evaluated/fixture.ts';
export { datasetPublishedFixture } from './dataset-published/fixture.ts';
export { retrainRequestedFixture } from './retrain-requested/fixture.ts';
export { deadLetterFixture } from './dead-letter/fixture.ts';

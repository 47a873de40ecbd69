export { serviceEnv, stackEnv } from './stack-env.ts';
export { isolatedServiceEnv, uniqueName } from './names.ts';
export { waitFor } from './wait.ts';
export { collectMessages, testKafka, type CollectedMessage } from './kafka.ts';
export { freePort, startTsProcess, type RunningProcess } from './process.ts';
export { describeServiceSkeleton } from './service-skeleton.ts';
export { MlflowRest, startMlflowServer, type MlflowRunSpec, type MlflowServer } from './mlflow.ts';
export {
  PENGUIN_COLUMNS,
  PENGUIN_COUNT,
  SAMPLE_IMAGES,
  penguinRows,
  sampleImagePath,
  toCsv,
  writeSampleBatch,
  type PenguinRow,
  type SampleBatch,
  type SampleBatchOptions,
  type SampleFile,
} from './sample-batches.ts';

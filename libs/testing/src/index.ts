export { serviceEnv, stackEnv } from './stack-env.ts';
export { stackS3, stackS3Env } from './s3.ts';
export { isolatedServiceEnv, uniqueName } from './names.ts';
export { waitFor } from './wait.ts';
export { collectMessages, testKafka, type CollectedMessage } from './kafka.ts';
export {
  freePort,
  runTributary,
  startTsProcess,
  tsNodeArgs,
  waitForServing,
  type CliResult,
  type RunningProcess,
} from './process.ts';
export { describeServiceSkeleton } from './service-skeleton.ts';
export { DvcSandbox, readTree, treeDifferences, type DvcRun } from './dvc-cli.ts';
export {
  startJsonReceiver,
  startSmtpReceiver,
  type JsonReceiver,
  type ReceivedMail,
  type SmtpReceiver,
} from './receivers.ts';
export { MlflowRest, startMlflowServer, type MlflowRunSpec, type MlflowServer } from './mlflow.ts';
export {
  PENGUIN_COLUMNS,
  PENGUIN_COUNT,
  batchReadyFor,
  SAMPLE_IMAGES,
  penguinRows,
  sampleImagePath,
  vegaDataFile,
  toCsv,
  writeSampleBatch,
  type PenguinRow,
  type SampleBatch,
  type SampleBatchOptions,
  type SampleFile,
} from './sample-batches.ts';
export { writeJsonlSource, type RefreshSource } from './refresh-sources.ts';
export { startPrivatePostgres, type PrivatePostgres } from './private-postgres.ts';
export { captureLogs, type LogCapture, type LogLine } from './logs.ts';
export { applyDeclarations } from './declare.ts';
export {
  SECURED_SETTINGS,
  untrustedCaFile,
  useSecureStack,
  type SecureStack,
  type SecuredServer,
  type SecuredSettings,
} from './secure-stack.ts';
export {
  waitForCaughtUp,
  waitForSettled,
  waitForTick,
  type AnnouncingRunner,
  type AnnouncingWorker,
  type ConsumerGroup,
} from './instrumentation.ts';
export { EventReader, settleServices } from './service-harness.ts';

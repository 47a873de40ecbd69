export { ConfigError, loadConfig, redactConfig } from './load.ts';
export { readPemSetting } from './pem.ts';
export {
  absoluteDir,
  bool,
  commonEnv,
  commonSchema,
  csv,
  int,
  kafkaConnectionEnv,
  kafkaConnectionSchema,
  redisTlsEnv,
  s3Env,
  storeUri,
  url,
  type CommonConfig,
  type KafkaConnectionConfig,
} from './fields.ts';

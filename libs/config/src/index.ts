export { ConfigError, loadConfig, redactConfig } from './load.ts';
export {
  bool,
  commonEnv,
  commonSchema,
  csv,
  int,
  redisTlsEnv,
  s3Env,
  storeUri,
  url,
  type CommonConfig,
} from './fields.ts';

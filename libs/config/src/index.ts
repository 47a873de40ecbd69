export { ConfigError, loadConfig, redactConfig } from './load.ts';
export {
  bool,
  commonEnv,
  commonSchema,
  csv,
  int,
  s3Env,
  storeUri,
  url,
  type CommonConfig,
} from './fields.ts';

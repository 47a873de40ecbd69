export { ConfigError, loadConfig, redactConfig } from './load.ts';
export { bool, commonEnv, commonSchema, csv, int, url, type CommonConfig } from './fields.ts';

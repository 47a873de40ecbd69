/**
 * The request and response schemas of every service's HTTP API, one module per service. Only zod:
 * the console's web client imports the response types from here.
 */
export * as catalog from './catalog.ts';
export * as common from './common.ts';
export * as consoleApi from './console.ts';
export * as ingestor from './ingestor.ts';
export * as preprocessor from './preprocessor.ts';
export * as publisher from './publisher.ts';
export * as qualityGate from './quality-gate.ts';
export * as retrainPolicy from './retrain-policy.ts';
export { errorBody, type ErrorBody } from './common.ts';

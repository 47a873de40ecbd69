/** Each service's settings module (config schema and loader), by service name: for deploy checks. */
import type { ZodObject } from 'zod';
import * as consoleService from '../../services/console/src/config.ts';
import * as ingestor from '../../services/ingestor/src/config.ts';
import * as notifier from '../../services/notifier/src/config.ts';
import * as preprocessor from '../../services/preprocessor/src/config.ts';
import * as publisher from '../../services/publisher/src/config.ts';
import * as qualityGate from '../../services/quality-gate/src/config.ts';
import * as retrainPolicy from '../../services/retrain-policy/src/config.ts';

export interface ServiceConfigModule {
  configSchema: ZodObject;
  loadServiceConfig: (env: Record<string, string>) => Readonly<Record<string, unknown>>;
}

export const SERVICE_CONFIGS: Record<string, ServiceConfigModule> = {
  ingestor,
  preprocessor,
  'quality-gate': qualityGate,
  publisher,
  notifier,
  'retrain-policy': retrainPolicy,
  console: consoleService,
};

import { describe } from 'vitest';
import { describeServiceSkeleton, stackEnv } from '@tributary/testing';
import { buildApp } from '../src/app.ts';
import { loadServiceConfig } from '../src/config.ts';

describe('retrain-policy', () => {
  describeServiceSkeleton({
    name: 'retrain-policy',
    mainPath: new URL('../src/main.ts', import.meta.url),
    start: (env) => buildApp(loadServiceConfig(env)),
    extraEnv: {
      MLFLOW_TRACKING_URI: stackEnv.MLFLOW_TRACKING_URI,
      MLFLOW_MODEL_NAME: 'skeleton-model',
      ADMIN_TOKEN: 'skeleton-admin-token',
    },
  });
});

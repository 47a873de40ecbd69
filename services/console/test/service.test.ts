import { describe } from 'vitest';
import { describeServiceSkeleton } from '@tributary/testing';
import { buildApp } from '../src/app.ts';
import { loadServiceConfig } from '../src/config.ts';

// The services it reads are not needed to start: each page names a service that does not answer.
const nowhere = 'http://127.0.0.1:9';

describe('console', () => {
  describeServiceSkeleton({
    name: 'console',
    mainPath: new URL('../src/main.ts', import.meta.url),
    start: (env) => buildApp(loadServiceConfig(env)),
    extraEnv: {
      ADMIN_TOKEN: 'skeleton-admin-token',
      SESSION_SECRET: 'skeleton-session-secret-0123456789abcdef',
      INGESTOR_URL: nowhere,
      PREPROCESSOR_URL: nowhere,
      QUALITY_GATE_URL: nowhere,
      PUBLISHER_URL: nowhere,
      RETRAIN_POLICY_URL: nowhere,
    },
  });
});

import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe } from 'vitest';
import { describeServiceSkeleton } from '@tributary/testing';
import { buildApp } from '../src/app.ts';
import { loadServiceConfig } from '../src/config.ts';

describe('quality-gate', () => {
  describeServiceSkeleton({
    name: 'quality-gate',
    mainPath: new URL('../src/main.ts', import.meta.url),
    start: (env) => buildApp(loadServiceConfig(env)),
    extraEnv: {
      REFRESH_STORE_URI: pathToFileURL(path.join(tmpdir(), 'tributary-quality-gate-skeleton')).href,
      ADMIN_TOKEN: 'skeleton-admin-token',
    },
  });
});

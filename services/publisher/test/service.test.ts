import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe } from 'vitest';
import { describeServiceSkeleton } from '@tributary/testing';
import { buildApp } from '../src/app.ts';
import { loadServiceConfig } from '../src/config.ts';

describe('publisher', () => {
  describeServiceSkeleton({
    name: 'publisher',
    mainPath: new URL('../src/main.ts', import.meta.url),
    start: (env) => buildApp(loadServiceConfig(env)),
    extraEnv: {
      PUBLISH_STORE_URI: pathToFileURL(path.join(tmpdir(), 'tributary-publisher-skeleton')).href,
      ADMIN_TOKEN: 'skeleton-admin-token',
    },
  });
});

import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe } from 'vitest';
import { describeServiceSkeleton } from '@tributary/testing';
import { buildApp } from '../src/app.ts';
import { loadServiceConfig } from '../src/config.ts';
import { scratchDir } from './helpers.ts';

describe('ingestor', () => {
  const root = scratchDir('skeleton');
  describeServiceSkeleton({
    name: 'ingestor',
    mainPath: new URL('../src/main.ts', import.meta.url),
    start: (env) => buildApp(loadServiceConfig(env)),
    extraEnv: {
      DATA_STORE_URI: pathToFileURL(path.join(root, 'store')).href,
      LANDING_DIR: path.join(root, 'landing'),
    },
  });
});

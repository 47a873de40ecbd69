import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe } from 'vitest';
import { describeServiceSkeleton } from '@tributary/testing';
import { buildApp } from '../src/app.ts';
import { loadServiceConfig } from '../src/config.ts';

describe('preprocessor', () => {
  describeServiceSkeleton({
    name: 'preprocessor',
    mainPath: new URL('../src/main.ts', import.meta.url),
    start: (env) => buildApp(loadServiceConfig(env)),
    extraEnv: { DATA_STORE_URI: mkdtempSync(path.join(tmpdir(), 'tributary-pre-')) },
  });
});

import { describe } from 'vitest';
import { describeServiceSkeleton } from '@tributary/testing';
import { buildApp } from '../src/app.ts';
import { loadServiceConfig } from '../src/config.ts';

describe('publisher', () => {
  describeServiceSkeleton({
    name: 'publisher',
    mainPath: new URL('../src/main.ts', import.meta.url),
    start: (env) => buildApp(loadServiceConfig(env)),
  });
});

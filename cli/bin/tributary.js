#!/usr/bin/env node
// The installed package runs the bundle in dist/ (cli/scripts/build.ts); a checkout runs the
// TypeScript sources with Node's type stripping, or through tsx on a Node without it.
import { existsSync } from 'node:fs';
import * as nodeModule from 'node:module';

// Node keeps the compiled (and stripped) code in its compile cache (the temp folder, or NODE_COMPILE_CACHE):
// later runs skip that work. (Node 22.1+; a checkout run by an older node goes on without it.)
nodeModule.enableCompileCache?.();

const source = new URL('../src/main.ts', import.meta.url);
if (!existsSync(source)) {
  await import('../dist/tributary.js');
} else if (process.features.typescript) {
  await import(source.href);
} else {
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const args = ['--import', 'tsx', fileURLToPath(source), ...process.argv.slice(2)];
  const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}

import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The console's web client: Preact pages bundled into services/console/dist, served by the console.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/', import.meta.url)),
    emptyOutDir: true,
    sourcemap: true,
  },
});

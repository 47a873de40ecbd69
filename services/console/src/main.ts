import { runMain } from '@tributary/runtime';
import { buildApp } from './app.ts';
import { loadServiceConfig } from './config.ts';

await runMain('console', async () => {
  const config = loadServiceConfig();
  return { app: await buildApp(config), host: config.HTTP_HOST, port: config.HTTP_PORT };
});

import { batchIngested, batchRejected, masterVersioned } from '@tributary/events';
import { assembleService, createRuntime, type ServiceApp } from '@tributary/runtime';
import type { Config } from './config.ts';
import { handlers } from './entry-points/kafka/handlers/index.ts';
import { registerRoutes } from './entry-points/http/routes.ts';

/** Topics the preprocessor reads and writes; created at start-up if missing. */
export const TOPICS = [batchIngested.topic, masterVersioned.topic, batchRejected.topic];

/** Wires the preprocessor without starting or listening: main.ts and the tests start it. */
export async function buildApp(config: Config): Promise<ServiceApp> {
  const runtime = await createRuntime(config, {
    migrations: [new URL('../migrations/', import.meta.url)],
    topics: TOPICS,
  });
  return assembleService({ runtime, handlers: handlers(), routes: (http) => registerRoutes(http) });
}

import { z } from 'zod';
import { commonEnv, loadConfig } from '@tributary/config';

/** Every setting of the quality-gate, read from the environment once at start-up. */
export const configSchema = z.object({
  ...commonEnv,
  SERVICE_NAME: commonEnv.SERVICE_NAME.default('quality-gate'),
  HTTP_PORT: commonEnv.HTTP_PORT.default(3003),
});

export type Config = Readonly<z.output<typeof configSchema>>;

export function loadServiceConfig(env?: Record<string, string | undefined>): Config {
  return loadConfig(configSchema, env);
}

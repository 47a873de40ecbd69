import type { z } from 'zod';

/** Thrown when the environment does not satisfy a service's schema; lists every problem at once. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Parses the environment against a zod object schema whose keys are the variable names. An empty
 * variable (`FOO=`, or compose's `${FOO:-}`) counts as unset, so optional settings can be listed
 * empty. The result is deeply frozen; `process.env` is read here and nowhere else in services.
 */
export function loadConfig<S extends z.ZodObject>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): Readonly<z.output<S>> {
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const result = schema.safeParse(set);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const name = issue.path.join('.') || '(root)';
        const described = (schema.shape as Record<string, z.ZodType>)[String(issue.path[0])]?.description;
        return `${name}: ${issue.message}${described ? ` (${described})` : ''}`;
      }),
    );
  }
  return deepFreeze(result.data);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

const SECRET_KEY = /PASSWORD|SECRET|TOKEN|KEY|WEBHOOK/i;

/** A copy of a config safe to log: secret-looking keys masked, passwords removed from URLs. */
export function redactConfig(config: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (SECRET_KEY.test(key) && value !== undefined && value !== '') out[key] = '***';
    else if (typeof value === 'string') out[key] = redactUrl(value);
    else if (Array.isArray(value))
      out[key] = (value as unknown[]).map((v) => (typeof v === 'string' ? redactUrl(v) : v));
    else out[key] = value;
  }
  return out;
}

function redactUrl(value: string): string {
  // The user may be empty (redis://:password@host).
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]+@/i, '$1:***@');
}

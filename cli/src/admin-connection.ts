import type { Command } from 'commander';

/** The --url and --token options of a command that calls a service's admin API. */
export interface AdminConnection {
  url: string;
  token?: string;
}

/**
 * Adds --url and --token to `cmd`: --url defaults to the environment variable `urlEnv`, else to
 * `defaultUrl`; --token to TRIBUTARY_ADMIN_TOKEN (read by `adminToken`).
 */
export function withAdminConnection(
  cmd: Command,
  service: { name: string; urlEnv: string; defaultUrl: string },
): Command {
  return cmd
    .option(
      '--url <url>',
      `${service.name} admin API (env ${service.urlEnv})`,
      process.env[service.urlEnv] ?? service.defaultUrl,
    )
    .option('--token <token>', 'admin token (default: env TRIBUTARY_ADMIN_TOKEN)');
}

/** The token is not a commander default, so that --help never prints it. */
export function adminToken(opts: AdminConnection): string | undefined {
  return opts.token ?? process.env.TRIBUTARY_ADMIN_TOKEN;
}

/** Prints a value as indented JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

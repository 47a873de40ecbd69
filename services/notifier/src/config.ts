import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { retryDelaysSetting } from '@tributary/jobs';
import { ConfigError, bool, commonEnv, csv, int, loadConfig, url } from '@tributary/config';

const defaultTemplate = new URL('../../../templates/coverage_gap_report.md', import.meta.url);

/** Services whose dead letters the notifier can announce: all but itself (a failure there would loop). */
export const WATCHABLE_SERVICES = [
  'ingestor',
  'preprocessor',
  'quality-gate',
  'publisher',
  'retrain-policy',
] as const;

/** Every setting of the notifier, read from the environment once at start-up. */
export const configSchema = z.object({
  ...commonEnv,
  SERVICE_NAME: commonEnv.SERVICE_NAME.default('notifier'),
  HTTP_PORT: commonEnv.HTTP_PORT.default(3005),

  SLACK_WEBHOOK_URL: url()
    .optional()
    .describe(
      'Default Slack incoming webhook of the evaluation channel, for evaluation sets whose dataset declares none (or that no dataset declares); with neither, no Slack message is sent',
    ),
  OPS_SLACK_WEBHOOK_URL: url()
    .optional()
    .describe(
      "Slack incoming webhook of the operators' channel, told of each dead letter; SLACK_WEBHOOK_URL when unset (one of the two is required)",
    ),
  PRODUCERS_SLACK_WEBHOOK_URL: url()
    .optional()
    .describe(
      "Slack incoming webhook of the data producers' channel, told of each rejected batch; none when unset",
    ),
  DEAD_LETTER_SERVICES: csv()
    .pipe(
      z.array(z.enum(WATCHABLE_SERVICES, { message: `expected some of ${WATCHABLE_SERVICES.join(', ')}` })),
    )
    .default([...WATCHABLE_SERVICES])
    .describe(
      "Services whose dead-letter topics are watched (a Slack message per dead letter); the notifier's own is left to its alert",
    ),
  SMTP_HOST: z.string().min(1).describe('SMTP server the email is sent through'),
  SMTP_PORT: int(1, 65535).default(587).describe('Port of the SMTP server'),
  SMTP_SECURE: bool()
    .default(false)
    .describe('Implicit TLS (port 465); otherwise STARTTLS when the server offers it'),
  SMTP_USER: z.string().min(1).optional().describe('SMTP user, when the server requires authentication'),
  SMTP_PASSWORD: z.string().min(1).optional().describe('SMTP password, with SMTP_USER'),
  EMAIL_FROM: z.string().min(3).default('tributary@localhost').describe('Sender of the notification emails'),
  EVAL_DISTRIBUTION_LIST: csv()
    .optional()
    .describe(
      'Default comma-separated addresses of the evaluation distribution list, for evaluation sets whose dataset declares no email list; with neither, no email is sent',
    ),
  PAGERDUTY_EVENTS_URL: url()
    .default('https://events.pagerduty.com/v2/enqueue')
    .describe('PagerDuty Events API v2 endpoint'),
  PAGERDUTY_ROUTING_KEY: z
    .string()
    .min(1)
    .describe(
      'Integration key of the deployment on-call service: pages of evaluation sets whose dataset declares no PagerDuty route (or that no dataset declares), at P2',
    ),
  COVERAGE_TEMPLATE_PATH: z
    .string()
    .min(1)
    .default(fileURLToPath(defaultTemplate))
    .describe('Mustache template of coverage_gap_report.md'),
  S3_ENDPOINT: url().optional().describe('Endpoint of an S3-compatible service, to read quality reports'),
  S3_REGION: z.string().min(1).default('us-east-1').describe('Region of the S3 buckets'),
  S3_ACCESS_KEY_ID: z.string().min(1).optional().describe('S3 access key; the AWS default chain when unset'),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional().describe('S3 secret key, with S3_ACCESS_KEY_ID'),
  NOTIFY_RETRY_DELAYS_MS: retryDelaysSetting('a failed delivery'),
  NOTIFY_RETRY_POLL_MS: int(50)
    .default(1000)
    .describe(
      'How often the job worker looks for deliveries to make (every notification is one) and for claims whose lease ran out',
    ),
  // Past the lease, a delivery taken by a replica that died (or hung) is taken again and sent. Keep
  // it well above the longest delivery (HTTP_TIMEOUT_MS, the SMTP exchange): a live but slow sender
  // overtaken by the lease means a duplicate message.
  NOTIFY_SENDING_LEASE_MS: int(1000, 86_400_000)
    .default(300_000)
    .describe(
      "How long a delivery may be held by a replica before the job worker takes it for a dead replica's and sends it again",
    ),
  HTTP_TIMEOUT_MS: int(1).default(10_000).describe('Timeout of each Slack or PagerDuty request'),
});

export type Config = Readonly<z.output<typeof configSchema>>;

export function loadServiceConfig(env?: Record<string, string | undefined>): Config {
  const config = loadConfig(configSchema, env);
  // Dead letters go to the deployment's operators, never to a dataset's routes: they need a channel.
  if (config.OPS_SLACK_WEBHOOK_URL === undefined && config.SLACK_WEBHOOK_URL === undefined) {
    throw new ConfigError([
      'OPS_SLACK_WEBHOOK_URL: required when SLACK_WEBHOOK_URL is unset (the operators are told of dead letters there)',
    ]);
  }
  return config;
}

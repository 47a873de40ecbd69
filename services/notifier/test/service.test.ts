import { describe } from 'vitest';
import { describeServiceSkeleton } from '@tributary/testing';
import { buildApp } from '../src/app.ts';
import { loadServiceConfig } from '../src/config.ts';

describe('notifier', () => {
  describeServiceSkeleton({
    name: 'notifier',
    mainPath: new URL('../src/main.ts', import.meta.url),
    start: (env) => buildApp(loadServiceConfig(env)),
    extraEnv: {
      SLACK_WEBHOOK_URL: 'http://127.0.0.1:9/slack',
      SMTP_HOST: '127.0.0.1',
      EVAL_DISTRIBUTION_LIST: 'eval-leads@example.com',
      PAGERDUTY_ROUTING_KEY: 'skeleton-routing-key',
    },
  });
});

import { describe, expect, it } from 'vitest';
import { ConfigError } from '@tributary/config';
import { serviceEnv } from '@tributary/testing';
import { loadServiceConfig } from '../src/config.ts';

/** The settings every notifier needs, without the default routes of the evaluation sets. */
const base = { SMTP_HOST: '127.0.0.1', PAGERDUTY_ROUTING_KEY: 'routing-key-ml-oncall' };

describe('notifier configuration', () => {
  it('when the datasets declare their own Slack and email routes, then the deployment defaults may be left unset', () => {
    const config = loadServiceConfig(
      serviceEnv({ ...base, OPS_SLACK_WEBHOOK_URL: 'http://127.0.0.1:9/ops', EVAL_DISTRIBUTION_LIST: '' }),
    );
    expect(config.SLACK_WEBHOOK_URL).toBeUndefined();
    expect(config.EVAL_DISTRIBUTION_LIST).toBeUndefined();
  });

  it('when neither the operators channel nor a default channel is set, then it refuses to start and names the setting', () => {
    const refused = (() => {
      try {
        loadServiceConfig(serviceEnv(base));
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as ConfigError).problems).toEqual([
      expect.stringMatching(/^OPS_SLACK_WEBHOOK_URL: required when SLACK_WEBHOOK_URL is unset/) as unknown,
    ]);
  });
});

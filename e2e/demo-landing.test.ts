/**
 * The demo's deployment turns the landing zone on: the ingestor started with the environment
 * scripts/demo.sh gives the services watches a LANDING_DIR inside the demo's folder, and the demo
 * prints where it is.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stackEnv } from '@tributary/testing';
import { describe, expect, it } from 'vitest';
import { SERVICE_CONFIGS } from './support/service-configs.ts';

const root = new URL('..', import.meta.url).pathname;

describe('scripts/demo.sh', () => {
  it('when the demo starts the ingestor, then its landing zone is on, inside the demo folder, and printed', () => {
    const state = mkdtempSync(join(tmpdir(), 'demo-state-'));
    const run = spawnSync('bash', ['scripts/demo.sh', 'env'], {
      cwd: root,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: state, TRIBUTARY_STATE: state },
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const exported = Object.fromEntries(
      [...run.stdout.matchAll(/^export ([A-Z_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]),
    );
    expect(exported.LANDING_DIR).toBe(join(state, 'demo', 'landing'));
    expect(statSync(exported.LANDING_DIR!).isDirectory()).toBe(true);

    const config = SERVICE_CONFIGS.ingestor!.loadServiceConfig({
      ...stackEnv,
      ...exported,
      SERVICE_NAME: 'ingestor',
    });
    expect(config.LANDING_DIR).toBe(join(state, 'demo', 'landing'));

    // The demo tells the user where the zone is, and the folder of each declared dataset.
    const script = readFileSync(join(root, 'scripts/demo.sh'), 'utf8');
    expect(script).toMatch(/echo "landing zone \(LANDING_DIR[^"]*\$LANDING_DIR"/);
    expect(readFileSync(join(root, 'scripts/demo.ts'), 'utf8')).toContain('landing zone (LANDING_DIR)');
  });
});

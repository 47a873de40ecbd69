import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

/** Runs a check script; its exit code and output, whether it passes or not. */
const check = (script: string, args: string[]) =>
  run(path.join(root, 'scripts', script), args, { env: process.env }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({
      code: err.code,
      stdout: err.stdout,
      stderr: err.stderr,
    }),
  );

describe('the deployment checks (scripts/check-deploy.sh)', () => {
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'tributary-deploy-checks-'));
  });

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('when the manifests are the repository’s, then every object decodes into its Kubernetes or KEDA type', async () => {
    const ok = await check('check-k8s.sh', [path.join(root, 'deploy/k8s/base')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/deploy\/k8s\/base: valid \(\d+ objects: .*\d+ ScaledObject, \d+ Deployment/);
  }, 600_000);

  it('when a manifest has a misspelt field, a number where KEDA wants a string or an unknown kind, then the check fails naming each', async () => {
    const k8s = path.join(work, 'k8s');
    await cp(path.join(root, 'deploy/k8s'), k8s, { recursive: true });
    const ingestor = path.join(k8s, 'base/ingestor.yaml');
    const text = await readFile(ingestor, 'utf8');
    const broken = text
      .replace(/containerPort: (\d+) \}/, 'containerPort: $1, protocl: TCP }')
      .replace(/lagThreshold: '(\d+)'/, 'lagThreshold: $1');
    expect(broken).not.toBe(text);
    await writeFile(
      ingestor,
      `${broken}---\napiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: { name: ingestor }\nspec: {}\n`,
    );
    const bad = await check('check-k8s.sh', [path.join(k8s, 'base')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('apps/v1/Deployment ingestor: json: unknown field "protocl"');
    expect(bad.stderr).toContain(
      'keda.sh/v1alpha1/ScaledObject ingestor: json: cannot unmarshal number into Go struct field ScaleTriggers.spec.triggers.metadata of type string',
    );
    expect(bad.stderr).toContain('no API type known for monitoring.coreos.com/v1/ServiceMonitor');
  }, 600_000);

  it('when a service Dockerfile leaves the template or does not lint, then the check fails naming each problem', async () => {
    const dir = path.join(work, 'services/notifier');
    await mkdir(dir, { recursive: true });
    const dockerfile = (await readFile(path.join(root, 'services/notifier/Dockerfile'), 'utf8'))
      .replace(/^FROM node:[^\s]+/m, 'FROM node:20-bookworm-slim')
      .replace(/^USER node$/m, 'USER root')
      .replace(/^EXPOSE (\d+)$/m, 'EXPOSE http')
      .replace(/^CMD .*$/m, 'CMD ["npx", "tsx", "services/notifier/src/main.ts"]');
    await writeFile(path.join(dir, 'Dockerfile'), dockerfile);
    const bad = await check('check-dockerfiles.sh', [path.join(dir, 'Dockerfile')]);
    expect(bad.code).toBe(1);
    for (const problem of [
      'Invalid containerPort: http',
      'FROM node:20-bookworm-slim: use node:',
      'runs something through tsx or npx',
      'the final stage must run as USER node',
      'the last line must be CMD ["node", "services/notifier/src/main.ts"]',
    ])
      expect(bad.stderr).toContain(problem);

    const ok = await check('check-dockerfiles.sh', []);
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.stdout).toMatch(/^\d+ Dockerfiles: lint clean/);
  }, 120_000);
});

/**
 * deploy/k8s/components/secured-connections against the base and the services' own code: its
 * patches apply to every service Deployment (the paths exist), and each service, with the
 * environment the kubelet would then give it, gets Kafka TLS with a CA file on a mounted volume,
 * SCRAM-SHA-512 with its user and password from the Secret, and Postgres verified against the CA,
 * all accepted by its config and by the Kafka connection code. When kubectl is on the PATH, the
 * overlay is also built by its kustomize.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { kafkaSasl } from '@tributary/kafka/connection';
import { SERVICE_CONFIGS } from './support/service-configs.ts';

const BASE = fileURLToPath(new URL('../deploy/k8s/base/', import.meta.url));
const COMPONENT = fileURLToPath(new URL('../deploy/k8s/components/secured-connections/', import.meta.url));
const SECRET = 'p'.repeat(32);

type Json = Record<string, unknown>;
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface Pod {
  containers: { name: string; env: EnvVar[]; volumeMounts: { name: string; mountPath: string }[] }[];
  volumes: { name: string; secret?: { secretName: string } }[];
}

const base = (
  parse(readFileSync(join(BASE, 'kustomization.yaml'), 'utf8')) as { resources: string[] }
).resources
  .flatMap((file) => parseAllDocuments(readFileSync(join(BASE, file), 'utf8')).map((d) => d.toJS() as Json))
  .filter(Boolean);
const component = parse(readFileSync(join(COMPONENT, 'kustomization.yaml'), 'utf8')) as {
  patches: { target: { kind: string; name?: string }; patch?: string; path?: string }[];
};

/** The base with the component's patches applied as kustomize applies these two kinds of patch. */
function patched(): Json[] {
  const out = structuredClone(base);
  for (const p of component.patches) {
    const targets = out.filter(
      (m) => m.kind === p.target.kind && (!p.target.name || (m.metadata as Json).name === p.target.name),
    );
    expect(targets.length, JSON.stringify(p.target)).toBeGreaterThan(0);
    if (p.patch) {
      // A strategic merge of a ConfigMap: its data keys added or replaced.
      const data = (parse(p.patch) as { data: Record<string, string> }).data;
      for (const t of targets) t.data = { ...(t.data as Record<string, string>), ...data };
    } else {
      const ops = parse(readFileSync(join(COMPONENT, p.path!), 'utf8')) as {
        op: string;
        path: string;
        value: unknown;
      }[];
      for (const t of targets) {
        for (const op of ops) {
          expect(op.op).toBe('add');
          const keys = op.path.split('/').slice(1);
          expect(keys.at(-1), op.path).toBe('-');
          let node: unknown = t;
          for (const k of keys.slice(0, -1)) node = (node as Json)[k];
          expect(Array.isArray(node), `${(t.metadata as Json).name as string}: ${op.path}`).toBe(true);
          (node as unknown[]).push(op.value);
        }
      }
    }
  }
  return out;
}

/** The service container's environment: the ConfigMap, then its env with `$(VAR)` expanded, secrets as a placeholder. */
function environment(manifests: Json[], service: string): { env: Record<string, string>; pod: Pod } {
  const deployment = manifests.find(
    (m) => m.kind === 'Deployment' && (m.metadata as Json).name === service,
  ) as { spec: { template: { spec: Pod } } };
  const pod = deployment.spec.template.spec;
  const container = pod.containers.find((c) => c.name === service)!;
  const common = manifests.find(
    (m) => m.kind === 'ConfigMap' && (m.metadata as Json).name === 'tributary-common',
  );
  const env: Record<string, string> = { ...(common!.data as Record<string, string>) };
  for (const v of container.env) {
    env[v.name] =
      v.value !== undefined
        ? v.value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (ref, name: string) => env[name] ?? ref)
        : SECRET;
  }
  return { env, pod };
}

function mountOf(pod: Pod, service: string, file: string): string | undefined {
  const container = pod.containers.find((c) => c.name === service)!;
  const mount = container.volumeMounts.find((m) => file.startsWith(`${m.mountPath}/`));
  return mount && pod.volumes.find((v) => v.name === mount.name)?.secret?.secretName;
}

describe('deploy/k8s/components/secured-connections', () => {
  const manifests = patched();

  it.each(Object.keys(SERVICE_CONFIGS))(
    'when %s is deployed with the component, then its config takes Kafka TLS + SASL and Postgres TLS with the CA from the tributary-tls Secret',
    (service) => {
      const { env, pod } = environment(manifests, service);
      const config = SERVICE_CONFIGS[service]!.loadServiceConfig(env) as Record<string, unknown> & {
        KAFKA_BROKERS: string[];
        KAFKA_SSL: boolean;
      };
      expect(config).toMatchObject({
        KAFKA_SSL_CA_FILE: '/etc/tributary/tls/ca.pem',
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: SECRET,
        KAFKA_SASL_PASSWORD: SECRET,
        DATABASE_SSL_CA_FILE: '/etc/tributary/tls/ca.pem',
      });
      expect(kafkaSasl(config)).toEqual({ mechanism: 'scram-sha-512', username: SECRET, password: SECRET });
      // The services that use Redis take its password from the Secret.
      if ('REDIS_URL' in config) expect(config.REDIS_PASSWORD).toBe(SECRET);
      // The CA files are on the volume of the tributary-tls Secret.
      expect(mountOf(pod, service, '/etc/tributary/tls/ca.pem')).toBe('tributary-tls');
    },
  );

  it('when kubectl is available, then its kustomize builds an overlay with the component the same way', () => {
    let kubectl = true;
    try {
      execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    } catch {
      kubectl = false;
    }
    if (!kubectl) return; // the patch paths are checked above; kustomize itself is optional here
    const overlay = mkdtempSync(join(tmpdir(), 'tributary-k8s-overlay-'));
    try {
      writeFileSync(
        join(overlay, 'kustomization.yaml'),
        `resources: [${relative(overlay, BASE)}]\ncomponents: [${relative(overlay, COMPONENT)}]\n`,
      );
      const built = parseAllDocuments(
        execFileSync('kubectl', ['kustomize', overlay], { encoding: 'utf8' }),
      ).map((d) => d.toJS() as Json);
      for (const service of Object.keys(SERVICE_CONFIGS)) {
        const ours = environment(manifests, service);
        const theirs = environment(built, service);
        expect(theirs.env, service).toEqual(ours.env);
        expect(mountOf(theirs.pod, service, '/etc/tributary/tls/ca.pem'), service).toBe('tributary-tls');
      }
    } finally {
      rmSync(overlay, { recursive: true, force: true });
    }
  });
});

/**
 * deploy/k8s against the services' own code: each of the six Deployments, with the environment the
 * kubelet would give it (tributary-common ConfigMap + its own env, `$(VAR)` expanded, secrets as a
 * placeholder), must pass its config validation and point at no loopback address; its probes, port,
 * scrape annotations, grace period, Service and PodDisruptionBudget must fit that config; and its
 * KEDA ScaledObject must scale it on the consumer group the code joins, on the topics it consumes
 * (deploy/topics.yaml), no further than their partitions.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { assembleService, type Runtime } from '@tributary/runtime';
import { Registry } from '@tributary/telemetry';
import { SERVICE_CONFIGS as SERVICES } from './support/service-configs.ts';

/** What a secretKeyRef resolves to here: the Secret is never committed. */
const SECRET_PLACEHOLDER = 'p'.repeat(32);

const BASE = new URL('../deploy/k8s/base/', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, BASE), 'utf8');

interface Kustomization {
  resources: string[];
}

type Probe = { httpGet?: { path?: string; port?: number | string } } | undefined;

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string };
  };
}

interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  env?: EnvVar[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command?: string[] }; sleep?: { seconds: number } } };
}

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec?: unknown;
  data?: Record<string, string>;
}

interface Deployment extends Manifest {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
      spec: { terminationGracePeriodSeconds?: number; containers: Container[] };
    };
  };
}

interface Service extends Manifest {
  spec: { selector: Record<string, string>; ports: { port: number; targetPort: number | string }[] };
}

interface PodDisruptionBudget extends Manifest {
  spec: { selector: { matchLabels: Record<string, string> } };
}

interface ScaledObject extends Manifest {
  spec: {
    scaleTargetRef: { name: string; kind?: string };
    minReplicaCount?: number;
    maxReplicaCount?: number;
    triggers: { type: string; metadata: Record<string, string> }[];
  };
}

interface TopicCatalog {
  defaults: { partitions: number };
  topics: Record<string, { consumers?: string[]; partitions?: number }>;
}

const kustomization = parse(read('kustomization.yaml')) as Kustomization;
const manifests: Manifest[] = kustomization.resources.flatMap((file) =>
  parseAllDocuments(read(file)).map((doc) => {
    expect(doc.errors, file).toEqual([]);
    return doc.toJS() as Manifest;
  }),
);
const catalog = parse(
  readFileSync(new URL('../deploy/topics.yaml', import.meta.url), 'utf8'),
) as TopicCatalog;

function only<T extends Manifest>(kind: string, name: string): T {
  const found = manifests.filter((m) => m.kind === kind && m.metadata.name === name);
  expect(found, `${kind} ${name}`).toHaveLength(1);
  return found[0] as T;
}

/** The service's Deployment, its pod template and its container (named after the service). */
function partsOf(service: string) {
  const deployment = only<Deployment>('Deployment', service);
  const pod = deployment.spec.template;
  const container = pod.spec.containers.find((c) => c.name === service);
  if (!container) throw new Error(`Deployment ${service} has no container named ${service}`);
  return { deployment, pod, container };
}

/** The environment the kubelet gives the container: envFrom first, then env in order with `$(VAR)` expanded. */
function containerEnv(container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (!source.configMapRef) throw new Error(`unsupported envFrom ${JSON.stringify(source)}`);
    Object.assign(env, only('ConfigMap', source.configMapRef.name).data);
  }
  for (const v of container.env ?? []) {
    if (v.value !== undefined) {
      env[v.name] = v.value.replace(
        /\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g,
        (ref, name: string) => env[name] ?? ref,
      );
    } else if (v.valueFrom?.secretKeyRef) {
      env[v.name] = SECRET_PLACEHOLDER;
    } else if (v.valueFrom?.configMapKeyRef) {
      const ref = v.valueFrom.configMapKeyRef;
      const value = only('ConfigMap', ref.name).data?.[ref.key];
      if (value === undefined) throw new Error(`${v.name}: ConfigMap ${ref.name} has no key ${ref.key}`);
      env[v.name] = value;
    } else {
      throw new Error(`unsupported env source of ${v.name}`);
    }
  }
  return env;
}

/** The consumer group the service's runner joins, taken from the runtime's own wiring. */
function consumerGroupOf(config: Readonly<Record<string, unknown>>): string {
  let groupId: string | undefined;
  const runtime = {
    config,
    serviceName: config.SERVICE_NAME,
    topicPrefix: config.TOPIC_PREFIX,
    kafka: {
      consumer: (opts: { groupId: string }) => {
        groupId = opts.groupId;
        return {};
      },
    },
    producer: { topicPrefix: config.TOPIC_PREFIX },
    metrics: { registry: new Registry() },
    readiness: new Map(),
  } as unknown as Runtime;
  assembleService({ runtime, area: 'PRE', handlers: [] });
  if (groupId === undefined) throw new Error('the runner created no consumer');
  return groupId;
}

/** Topics a service consumes per deploy/topics.yaml. */
function consumedTopics(service: string): string[] {
  return Object.entries(catalog.topics)
    .filter(([, t]) => (t.consumers ?? []).includes(service))
    .map(([name]) => name);
}

function portOf(container: Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

function preStopMs(container: Container): number {
  const preStop = container.lifecycle?.preStop;
  if (preStop?.sleep) return preStop.sleep.seconds * 1000;
  const [cmd, seconds] = preStop?.exec?.command ?? [];
  return cmd === 'sleep' ? Number(seconds) * 1000 : 0;
}

const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('deploy/k8s/base', () => {
  it('when kustomize builds the base, then it lists every manifest file of the folder', () => {
    const files = readdirSync(BASE)
      .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
      .sort();
    expect([...kustomization.resources].sort()).toEqual(files);
    for (const service of Object.keys(SERVICES)) expect(files).toContain(`${service}.yaml`);
  });

  describe.each(Object.keys(SERVICES))('%s', (service) => {
    const mod = SERVICES[service]!;
    const env = () => containerEnv(partsOf(service).container);
    const config = () => mod.loadServiceConfig(env());

    it('when the pod starts with its manifest environment, then its settings validate', () => {
      const e = env();
      expect(e.SERVICE_NAME).toBe(service);
      expect(
        Object.entries(e).filter(([, v]) => v.includes('$(')),
        'unresolved $(VAR)',
      ).toEqual([]);
      expect(() => mod.loadServiceConfig(e)).not.toThrow();
    });

    it('when it sets its own variables, then each is a setting of the service or used by another', () => {
      const { container } = partsOf(service);
      const own = (container.env ?? []).map((v) => v.name);
      const referenced = new Set(
        (container.env ?? []).flatMap((v) =>
          [...(v.value ?? '').matchAll(/\$\(([A-Za-z0-9_]+)\)/g)].map((m) => m[1]),
        ),
      );
      const unknown = own.filter((name) => !(name in mod.configSchema.shape) && !referenced.has(name));
      expect(unknown, 'variables the service does not read').toEqual([]);
    });

    it('when it runs in a pod, then no setting points at the loopback and stores are shared', () => {
      const loopback = Object.entries(config()).filter(([, value]) =>
        /127\.0\.0\.1|localhost|\[::1\]/.test(JSON.stringify(value)),
      );
      expect(loopback, 'settings that point at the pod itself').toEqual([]);
      // A file:// store would be private to each replica: every store must be object storage.
      const stores = Object.entries(config()).filter(([key]) => /_STORE_URI$/.test(key));
      for (const [key, value] of stores) expect(value, key).toMatch(/^s3:\/\//);
      // A URL naming another Tributary service must reach its Service on its port.
      for (const [key, value] of Object.entries(config())) {
        if (typeof value !== 'string' || !/^https?:\/\//.test(value)) continue;
        const url = new URL(value);
        if (!(url.hostname in SERVICES)) continue;
        const ports = only<Service>('Service', url.hostname).spec.ports.map((p) => p.port);
        expect(ports, key).toContain(Number(url.port));
      }
    });

    it('when the kubelet probes it, then /readyz and /healthz are asked on HTTP_PORT', () => {
      const { pod, container } = partsOf(service);
      const cfg = config();
      expect(['0.0.0.0', '::']).toContain(cfg.HTTP_HOST);
      const port = cfg.HTTP_PORT as number;
      expect(container.ports?.map((p) => p.containerPort)).toContain(port);
      expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
      expect(portOf(container, container.readinessProbe?.httpGet?.port)).toBe(port);
      expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
      expect(portOf(container, container.livenessProbe?.httpGet?.port)).toBe(port);
      if (container.startupProbe) {
        expect(container.startupProbe.httpGet?.path).toBe('/healthz');
        expect(portOf(container, container.startupProbe.httpGet?.port)).toBe(port);
      }
      expect(pod.metadata.annotations?.['prometheus.io/scrape']).toBe('true');
      expect(Number(pod.metadata.annotations?.['prometheus.io/port'])).toBe(port);
      expect(pod.metadata.annotations?.['prometheus.io/path']).toBe('/metrics');
    });

    it('when it is sent SIGTERM, then the grace period outlasts preStop plus SHUTDOWN_GRACE_MS', () => {
      const { pod, container } = partsOf(service);
      const grace = pod.spec.terminationGracePeriodSeconds;
      expect(grace, 'terminationGracePeriodSeconds').toBeTypeOf('number');
      expect(grace! * 1000).toBeGreaterThan((config().SHUTDOWN_GRACE_MS as number) + preStopMs(container));
    });

    it('when it is deployed, then its Service, PodDisruptionBudget and resources fit the pod', () => {
      const { deployment, pod, container } = partsOf(service);
      expect(matches(deployment.spec.selector.matchLabels, pod.metadata.labels)).toBe(true);
      const svc = only<Service>('Service', service);
      expect(matches(svc.spec.selector, pod.metadata.labels)).toBe(true);
      const ports = svc.spec.ports;
      expect(ports.map((p) => portOf(container, p.targetPort))).toContain(config().HTTP_PORT);
      const pdb = only<PodDisruptionBudget>('PodDisruptionBudget', service);
      expect(matches(pdb.spec.selector.matchLabels, pod.metadata.labels)).toBe(true);
      for (const kind of ['requests', 'limits'] as const) {
        expect(container.resources?.[kind]?.cpu, `${kind}.cpu`).toBeTruthy();
        expect(container.resources?.[kind]?.memory, `${kind}.memory`).toBeTruthy();
      }
    });

    it('when it lags, then KEDA scales it on its own consumer group and topics, within their partitions', () => {
      const { deployment } = partsOf(service);
      const cfg = config();
      const prefix = cfg.TOPIC_PREFIX as string;
      const topics = consumedTopics(service);
      const scalers = manifests.filter(
        (m): m is ScaledObject =>
          m.kind === 'ScaledObject' && (m as ScaledObject).spec.scaleTargetRef.name === service,
      );
      if (topics.length === 0) {
        // Nothing to scale on: a ScaledObject would watch a group that never commits.
        expect(scalers).toEqual([]);
        expect(deployment.spec.replicas).toBeGreaterThanOrEqual(1);
        return;
      }
      expect(scalers).toHaveLength(1);
      const so = scalers[0]!;
      expect(so.apiVersion).toBe('keda.sh/v1alpha1');
      expect(so.spec.scaleTargetRef.kind ?? 'Deployment').toBe('Deployment');
      // The ScaledObject owns the replica count; a fixed one would fight the HPA on every apply.
      expect(deployment.spec.replicas).toBeUndefined();
      const group = consumerGroupOf(cfg);
      const brokers = (cfg.KAFKA_BROKERS as string[]).join(',');
      for (const trigger of so.spec.triggers) {
        expect(trigger.type).toBe('kafka');
        expect(trigger.metadata.consumerGroup).toBe(group);
        expect(trigger.metadata.bootstrapServers).toBe(brokers);
        expect(Number(trigger.metadata.lagThreshold)).toBeGreaterThan(0);
      }
      expect(so.spec.triggers.map((t) => t.metadata.topic).sort()).toEqual(
        topics.map((t) => `${prefix}${t}`).sort(),
      );
      // Scaled to zero, the outbox relay and the pollers would stop with the consumer.
      expect(so.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
      const partitions = Math.min(
        ...topics.map((t) => catalog.topics[t]?.partitions ?? catalog.defaults.partitions),
        cfg.KAFKA_TOPIC_PARTITIONS as number,
      );
      expect(so.spec.maxReplicaCount).toBeGreaterThanOrEqual(so.spec.minReplicaCount!);
      expect(so.spec.maxReplicaCount, 'replicas beyond the partitions sit idle').toBeLessThanOrEqual(
        partitions,
      );
    });
  });
});

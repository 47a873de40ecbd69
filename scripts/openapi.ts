// The OpenAPI document of each service's HTTP API, as it serves it at GET /openapi.json, written to
// docs/api/<service>.openapi.json. The routes are registered as the service registers them, with
// dependencies they keep for their handlers but never call here.
//   node scripts/openapi.ts          (npm run openapi: writes the files)
//   node scripts/openapi.ts --check  (exit 1 naming each file that is not current)
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { buildHttp, withSchemas, type HttpArea, type HttpServer, type Runtime } from '@tributary/runtime';
import { registerConsoleHttp } from '../services/console/src/entry-points/http/server.ts';
import { registerRoutes as ingestorRoutes } from '../services/ingestor/src/entry-points/http/routes.ts';
import { registerRoutes as notifierRoutes } from '../services/notifier/src/entry-points/http/routes.ts';
import { registerRoutes as preprocessorRoutes } from '../services/preprocessor/src/entry-points/http/routes.ts';
import { registerRoutes as publisherRoutes } from '../services/publisher/src/entry-points/http/routes.ts';
import { registerRoutes as qualityGateRoutes } from '../services/quality-gate/src/entry-points/http/routes.ts';
import { registerRoutes as retrainPolicyRoutes } from '../services/retrain-policy/src/entry-points/http/routes.ts';

const outDir = fileURLToPath(new URL('../docs/api/', import.meta.url));
const TOKEN = 'documented';

/** A dependency the routes keep for their handlers; using it while documenting is a mistake. */
function unused<T extends object>(what: string, known: Partial<T> = {}): T {
  return new Proxy(known as T, {
    get(target, key) {
      if (key in target) return target[key as keyof T];
      if (typeof key === 'symbol' || key === 'then') return undefined;
      throw new Error(`${what}.${key} was used while documenting the routes`);
    },
  });
}

/** The error-code area of each service (ServiceParts.area in its app). */
const areas: Record<string, HttpArea> = {
  ingestor: 'ING',
  preprocessor: 'PRE',
  'quality-gate': 'QG',
  publisher: 'PUB',
  'retrain-policy': 'RTP',
  notifier: 'NOT',
  console: 'CON',
};

/** Each service and its routes, registered as its app does. */
const services: Record<string, (http: HttpServer) => void | Promise<void>> = {
  ingestor: (http) =>
    ingestorRoutes(http, {
      batches: unused('batches'),
      staging: unused('staging'),
      catalog: unused('catalog'),
      limits: { maxFileBytes: 0, maxBatchBytes: 0, maxFiles: 0 },
      logger: unused('logger'),
      admin: { token: TOKEN, tokenName: TOKEN, catalogStore: unused('catalogStore') },
    }),
  preprocessor: (http) =>
    preprocessorRoutes(http, {
      pool: unused('pool'),
      adminToken: TOKEN,
      lineageSources: unused('lineageSources'),
      reports: unused('reports'),
      validate: { dryRun: unused('dryRun'), workDir: '', maxBytes: 0, maxFiles: 0 },
    }),
  'quality-gate': (http) =>
    qualityGateRoutes(http, {
      adminToken: TOKEN,
      tokenName: TOKEN,
      jobs: unused('jobs'),
      runs: unused('runs'),
      baselines: unused('baselines'),
      run: unused('run'),
      artifacts: unused('artifacts'),
      logger: unused('logger'),
    }),
  publisher: (http) =>
    publisherRoutes(http, { adminToken: TOKEN, repo: unused('repo'), sweep: unused('sweep') }),
  'retrain-policy': (http) =>
    retrainPolicyRoutes(http, {
      adminToken: TOKEN,
      tokenName: TOKEN,
      thresholds: unused('thresholds'),
      decisions: unused('decisions'),
      logger: unused('logger'),
    }),
  notifier: (http) => notifierRoutes(http),
  console: (http) =>
    registerConsoleHttp(http, {
      session: {
        adminToken: TOKEN,
        viewerToken: undefined,
        secret: 'a-secret-that-is-only-used-to-document-the-routes',
        ttlMs: 1,
        secureCookie: true,
      },
      api: {
        services: {
          ingestor: unused('ingestor'),
          preprocessor: unused('preprocessor'),
          qualityGate: unused('qualityGate'),
          publisher: unused('publisher'),
          retrainPolicy: unused('retrainPolicy'),
        },
        deadLetters: unused('deadLetters'),
        live: unused('live'),
        links: { jaeger: undefined, mlflow: undefined },
        logger: unused('logger'),
      },
      distDir: outDir,
    }),
};

/** The document a service serves at GET /openapi.json, formatted as the repository formats JSON. */
async function openApiDocument(service: string): Promise<string> {
  const routes = services[service];
  if (!routes) throw new Error(`no service ${service}`);
  const runtime = unused<Runtime>('runtime', { serviceName: service, logger: unused('logger') });
  const http = buildHttp(runtime, () => true, areas[service]!);
  void http.register(async (plugin) => routes(withSchemas(plugin)));
  await http.ready();
  const json = JSON.stringify(http.swagger());
  await http.close();
  const file = `${outDir}${service}.openapi.json`;
  return format(json, { ...(await resolveConfig(file)), parser: 'json' });
}

const documentedServices = Object.keys(services);

const check = process.argv.includes('--check');
const stale: string[] = [];
await mkdir(outDir, { recursive: true });
for (const service of documentedServices) {
  const file = `${outDir}${service}.openapi.json`;
  const doc = await openApiDocument(service);
  if (check) {
    const current = await readFile(file, 'utf8').catch(() => undefined);
    if (current !== doc) stale.push(file);
  } else {
    await writeFile(file, doc);
  }
}
if (stale.length > 0) {
  process.stderr.write(`not current (run npm run openapi):\n${stale.map((f) => `  ${f}`).join('\n')}\n`);
  process.exit(1);
}

/**
 * The two refresh engines against the real stack's S3 and a real one-node Ray cluster (started by
 * `scripts/stack.sh up ray` when it is not running): the same sources and seed give the same
 * candidate rows, augmented alike (word dropout, a SQL augmentation, the image flip), and the same
 * gate verdict; a checksum mismatch, a cluster that cannot be reached and a job past its time each
 * end with an error naming them; a cancelled run stops its Ray job or its DuckDB work.
 */
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CreateBucketCommand, DeleteBucketCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '@tributary/errors';
import { createObjectStore, createS3Client } from '@tributary/storage';
import { stackEnv, stackS3, waitFor } from '@tributary/testing';
import { DuckDbEngine } from '../src/data-access/duckdb-engine.ts';
import { imageHorizontalFlip } from '../src/data-access/image-flip.ts';
import { RayEngine } from '../src/data-access/ray-engine.ts';
import { runCancelled } from '../src/domain/cancellation.ts';
import { wordListToxicity } from '../src/data-access/toxicity.ts';
import type {
  Baseline,
  CandidateSpec,
  CodeAugmentation,
  EngineContext,
  RefreshEngine,
  ResolvedSource,
} from '../src/domain/ports.ts';
import { passingBaseline, sourceRows, workspace, type Workspace } from './harness.ts';

const RAY_ADDRESS = process.env.RAY_ADDRESS ?? 'http://127.0.0.1:8265';
const RAY_PYTHON =
  process.env.RAY_JOB_PYTHON ?? path.join(process.env.HOME ?? '', '.cache/tributary/ray-venv/bin/python');
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const bucket = `tributary-qg-engines-${randomUUID()}`;
const store = createObjectStore(`s3://${bucket}/store`, stackS3);
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

let ws: Workspace;
let scratch: string;
let duckdb: DuckDbEngine;
let ray: RayEngine;
let sources: ResolvedSource[];

/**
 * 600 rows (ten times the canonical 60, other ids and texts) over two S3 sources: JSON Lines and
 * Parquet; each row has a 3×2 PNG of its own colours (a few rows none, or an empty one).
 */
let images: Map<number, string>;
function rows(): Record<string, unknown>[] {
  return Array.from({ length: 10 }, (_, k) =>
    sourceRows().map((r) => {
      const id = Number(r.id) + 60 * k;
      return {
        ...r,
        id,
        text: `${String(r.text)} part${k}`,
        image: id % 50 === 7 ? null : (images.get(id) ?? ''),
      };
    }),
  ).flat();
}

async function png(id: number): Promise<string> {
  const raw = Buffer.from(Array.from({ length: 18 }, (_, i) => (id * 37 + i * 53) % 256));
  return (
    await sharp(raw, { raw: { width: 3, height: 2, channels: 3 } })
      .png()
      .toBuffer()
  ).toString('base64');
}

/** An image's pixels as RGBA (each library writes its own PNG bytes for the same pixels). */
async function pixels(image: unknown): Promise<unknown> {
  if (typeof image !== 'string' || image === '') return image;
  return [...(await sharp(Buffer.from(image, 'base64')).ensureAlpha().raw().toBuffer())];
}

beforeAll(async () => {
  // The cluster is started on demand, like any stack component (a no-op when it runs).
  await promisify(execFile)(path.join(repoRoot, 'scripts/stack.sh'), ['up', 'ray'], { timeout: 600_000 });
  await createS3Client(stackS3).send(new CreateBucketCommand({ Bucket: bucket }));
  images = new Map();
  for (let id = 0; id < 600; id++) if (id % 40 !== 3) images.set(id, await png(id));
  ws = await workspace();
  scratch = await mkdtemp(path.join(tmpdir(), 'qg-engines-'));
  const all = rows();
  const jsonl = all
    .slice(0, 300)
    .map((r) => JSON.stringify(r))
    .join('\n');
  const parquet = await ws.parquet('second', all.slice(300));
  const bucketStore = createObjectStore(`s3://${bucket}`, stackS3);
  await bucketStore.put('sources/first.jsonl', jsonl);
  await bucketStore.put('sources/second.parquet', parquet);
  sources = [
    { kind: 'file', name: 'first', uri: `s3://${bucket}/sources/first.jsonl`, sha256: sha256(jsonl) },
    { kind: 'file', name: 'second', uri: `s3://${bucket}/sources/second.parquet`, sha256: sha256(parquet) },
  ];
  duckdb = new DuckDbEngine({
    s3: stackS3,
    store,
    scratchDir: scratch,
    memoryLimit: '256MB',
    threads: 1,
    batchRows: 100,
    toxicityMaxTexts: 200_000,
  });
  ray = rayEngine(RAY_ADDRESS);
}, 660_000);

afterAll(async () => {
  await ws?.remove();
  if (scratch) await rm(scratch, { recursive: true, force: true });
  const bucketStore = createObjectStore(`s3://${bucket}`, stackS3);
  const keys: string[] = [];
  for await (const o of bucketStore.list()) keys.push(o.key);
  if (keys.length > 0) await bucketStore.delete(keys);
  await createS3Client(stackS3).send(new DeleteBucketCommand({ Bucket: bucket }));
});

function rayEngine(address: string): RayEngine {
  return new RayEngine({
    address,
    store,
    s3: { endpoint_url: stackEnv.S3_ENDPOINT, region: 'us-east-1' },
    embedded: duckdb,
    python: RAY_PYTHON,
    pollMs: 200,
  });
}

const spec: CandidateSpec = {
  stratifyColumn: 'label',
  fraction: 0.3,
  seed: 11,
  textColumn: 'text',
  textDropout: 0.2,
  augmentations: [],
};
/** Word dropout, then a declared SQL augmentation and the image flip, as a job declares them. */
const augmented: CandidateSpec = {
  ...spec,
  augmentations: [
    {
      kind: 'sql',
      name: 'shout',
      column: 'text',
      expression: "upper(text) || ' [' || label || ']'",
      probability: 0.4,
    },
    imageHorizontalFlip('image', 0.5),
  ],
};
const baseline: Baseline = { name: 'engines', ...passingBaseline() };
const settings = {
  stratifyColumn: 'label',
  textColumn: 'text',
  thresholds: { minCoverage: 1, minDiversity: 0.3, maxToxicity: 0.01, maxPsi: 0.2, maxKs: 0.2 },
};

function context(
  timeoutMs = 300_000,
  cancel?: AbortSignal,
  onLog?: (line: string) => void,
): EngineContext & { lines: string[] } {
  const lines: string[] = [];
  const timeout = AbortSignal.timeout(timeoutMs);
  return {
    lines,
    log: (line) => {
      lines.push(line);
      onLog?.(line);
    },
    runId: 'a'.repeat(32),
    traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
    signal: cancel ? AbortSignal.any([timeout, cancel]) : timeout,
  };
}

async function rayJobStatus(id: string): Promise<string> {
  const res = await fetch(`${RAY_ADDRESS}/api/jobs/${id}`);
  return ((await res.json()) as { status: string }).status;
}

/** Runs one engine over the sources: its candidate (parsed JSON Lines) and verdict. */
async function refresh(
  engine: RefreshEngine,
  over: readonly ResolvedSource[],
  ctx = context(),
  candidateSpec = spec,
) {
  const version = `engines-${engine.name}-${randomUUID().slice(0, 8)}`;
  const run = await engine.open(version);
  try {
    for (const s of over) await run.ingest(s, ctx);
    const written = await run.generate(
      candidateSpec,
      { prefix: `candidates/${version}/`, tags: { 'dataset-version': version } },
      ctx,
    );
    const gate = await run.measure(baseline, settings, wordListToxicity());
    const body = (await store.getBuffer(`candidates/${version}/candidate.jsonl`)).toString('utf8');
    const candidate = body
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    return { written, gate, candidate, ctx };
  } finally {
    await run.close();
  }
}

describe('refresh engines', () => {
  it('when DuckDB and Ray refresh and augment the same sources with the same seed, then the candidates hold the same rows, texts and pixels, and the verdicts are the same', async () => {
    const embedded = await refresh(duckdb, sources, context(), augmented);
    const cluster = await refresh(ray, sources, context(), augmented);

    expect(embedded.candidate).toHaveLength(180);
    expect(cluster.candidate.map((r) => r.id)).toEqual(embedded.candidate.map((r) => r.id));
    // Every value but the images' PNG bytes is the same; the images hold the same pixels.
    const withoutImages = (c: Record<string, unknown>[]) => c.map(({ image: _image, ...r }) => r);
    expect(withoutImages(cluster.candidate)).toEqual(withoutImages(embedded.candidate));
    expect(await Promise.all(cluster.candidate.map((r) => pixels(r.image)))).toEqual(
      await Promise.all(embedded.candidate.map((r) => pixels(r.image))),
    );
    expect(cluster.gate).toEqual(embedded.gate);

    // Each augmentation did something, on the rows its draws chose.
    const source = (r: Record<string, unknown>) => rows().find((s) => s.id === r.id)!;
    const shouted = embedded.candidate.filter((r) => /\[[abc]\]$/.test(String(r.text)));
    expect(shouted.length).toBeGreaterThan(40);
    expect(shouted.length).toBeLessThan(120);
    for (const r of shouted) {
      const [text, label] = String(r.text).split(' [');
      expect([text, label]).toEqual([text!.toUpperCase(), `${String(r.label)}]`]);
    }
    const flipped = embedded.candidate.filter((r) => r.image !== source(r).image);
    expect(flipped.length).toBeGreaterThan(50);
    for (const r of flipped) {
      const [before, after] = [await pixels(source(r).image), await pixels(r.image)] as number[][];
      // 3×2 RGBA: each row of three pixels is mirrored.
      const mirror = (p: number[]) =>
        [0, 1].flatMap((y) => [2, 1, 0].flatMap((x) => p.slice((y * 3 + x) * 4, (y * 3 + x) * 4 + 4)));
      expect(after).toEqual(mirror(before!));
    }
    // NULL and empty images are left as they are.
    expect(embedded.candidate.filter((r) => r.image === null).length).toBeGreaterThan(0);
    for (const r of [...embedded.candidate, ...cluster.candidate]) {
      if (source(r).image === null || source(r).image === '') expect(r.image).toBe(source(r).image);
    }
  }, 300_000);

  it('when DuckDB and Ray refresh the same sources with the same seed, then the candidates and the verdicts are the same', async () => {
    const embedded = await refresh(duckdb, sources);
    const cluster = await refresh(ray, sources);

    // 30% of each of the three 200-row strata, dropout applied.
    expect(embedded.candidate).toHaveLength(180);
    expect(cluster.candidate.map((r) => r.id)).toEqual(embedded.candidate.map((r) => r.id));
    expect(cluster.candidate).toEqual(embedded.candidate);
    const dropped = embedded.candidate.filter((r) => {
      const source = rows().find((s) => s.id === r.id)!;
      return r.text !== source.text;
    });
    expect(dropped.length).toBeGreaterThan(100);
    expect(cluster.written.checksum).toBe(embedded.written.checksum);
    expect(cluster.gate).toEqual(embedded.gate);
    // Every metric, its value and its verdict (coverage, diversity, toxicity, PSI, KS).
    expect(embedded.gate.metrics.map((m) => m.metric)).toEqual([
      'coverage',
      'diversity',
      'toxicity',
      'drift_psi:label',
      'drift_ks:length',
    ]);

    // The job's logs reached the run's log, and the job carried the run's trace.
    expect(cluster.ctx.lines.some((l) => l.includes('refresh job') && l.includes('a'.repeat(32)))).toBe(true);
    expect(cluster.ctx.lines.some((l) => /submit to running \d+\.\d+ s/.test(l))).toBe(true);
  }, 300_000);

  it('when another seed is used, then another candidate is drawn', async () => {
    const first = await refresh(duckdb, sources);
    const other = await (async () => {
      const saved = spec.seed;
      spec.seed = 12;
      try {
        return await refresh(duckdb, sources);
      } finally {
        spec.seed = saved;
      }
    })();
    expect(other.candidate.map((r) => r.id)).not.toEqual(first.candidate.map((r) => r.id));
  }, 120_000);

  it('when a source does not match its checksum, then the Ray job fails and the error names the source and the mismatch', async () => {
    const bad = [{ ...sources[0]!, sha256: '0'.repeat(64) } as ResolvedSource];
    const err = await refresh(ray, bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).retriable).toBe(false);
    expect((err as AppError).message).toMatch(
      /Ray job \S+ failed: source first: checksum mismatch \(expected sha256 0{64}, got [0-9a-f]{64}\)/,
    );
  }, 300_000);

  it('when the cluster cannot be reached, then the error is retriable and names the cluster', async () => {
    const err = await refresh(rayEngine('http://127.0.0.1:9'), sources).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'QG_ERR_CLUSTER_UNAVAILABLE', retriable: true });
    expect((err as AppError).message).toContain('Ray cluster at http://127.0.0.1:9 is unreachable');
  });

  it('when a job outlives the engine timeout, then it is stopped on the cluster and the error says so', async () => {
    const ctx = context(1500);
    const err = await refresh(ray, sources, ctx).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'QG_ERR_CLUSTER_JOB_TIMEOUT', retriable: true });
    const id = /Ray job (\S+) did not finish/.exec((err as Error).message)?.[1];
    expect(id).toBeDefined();
    await waitFor(async () => ((await rayJobStatus(id!)) === 'STOPPED' ? true : undefined), {
      what: 'job stopped',
      timeoutMs: 30_000,
    });
  }, 120_000);

  it('when the run is cancelled while its Ray job runs, then the job is stopped on the cluster and the error is the cancellation', async () => {
    const cancel = new AbortController();
    // Cancelled once the job itself has logged (it runs on the cluster).
    const ctx = context(300_000, cancel.signal, (line) => {
      if (line.startsWith('refresh job '))
        cancel.abort(runCancelled('v1', 'cancelled by test: wrong sources'));
    });
    const err = await refresh(ray, sources, ctx).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'QG_ERR_RUN_CANCELLED', retriable: false });
    expect((err as Error).message).toBe('run v1 was cancelled (cancelled by test: wrong sources)');
    const stopped = ctx.lines.find((l) => / stopped: run v1 was cancelled/.test(l));
    const id = /^Ray job (\S+) stopped/.exec(stopped ?? '')?.[1];
    expect(id, ctx.lines.join('\n')).toBeDefined();
    await waitFor(async () => ((await rayJobStatus(id!)) === 'STOPPED' ? true : undefined), {
      what: 'job stopped',
      timeoutMs: 30_000,
    });
    // Nothing of the run is left in the store (its spec, parts, result), and no candidate was written.
    const version = id!.slice('tributary-'.length, -'-000000'.length);
    const left: string[] = [];
    for await (const o of store.list(`candidates/${version}/`)) left.push(o.key);
    expect(left).toEqual([]);
  }, 120_000);

  it('when the run is cancelled while DuckDB augments the candidate, then its work stops there and the error is the cancellation', async () => {
    const cancel = new AbortController();
    let batches = 0;
    const cancelling: CodeAugmentation = {
      name: 'cancelling',
      column: 'text',
      apply(batch) {
        batches++;
        cancel.abort(runCancelled('v2', 'cancelled by test'));
        return Promise.resolve(batch.map((b) => b.value));
      },
    };
    const ctx = context(300_000, cancel.signal);
    const version = `engines-duckdb-${randomUUID().slice(0, 8)}`;
    const run = await duckdb.open(version);
    try {
      for (const s of sources) await run.ingest(s, ctx);
      const err = await run
        .generate(
          { ...spec, augmentations: [cancelling] },
          { prefix: `candidates/${version}/`, tags: {} },
          ctx,
        )
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'QG_ERR_RUN_CANCELLED', retriable: false });
      // 180 rows in batches of 100: the second batch never came, and no candidate was written.
      expect(batches).toBe(1);
      const written: string[] = [];
      for await (const o of store.list(`candidates/${version}/`)) written.push(o.key);
      expect(written).toEqual([]);
      // A cancelled run reads no further source either.
      await expect(run.ingest(sources[0]!, ctx)).rejects.toMatchObject({ code: 'QG_ERR_RUN_CANCELLED' });
    } finally {
      await run.close();
    }
  }, 120_000);
});

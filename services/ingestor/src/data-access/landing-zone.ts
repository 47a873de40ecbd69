import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { AppError } from '@tributary/errors';
import type { LandingClaim, LandingEntry, LandingRef, LandingZone, SubmittedFile } from '../domain/ports.ts';
import { HashingPassThrough } from './hashing.ts';

/** Marker files of the landing-zone protocol, and the optional manifest, at the top of a batch folder. */
export const LANDING_MARKERS = {
  ready: '_READY',
  processing: '_PROCESSING',
  done: '_DONE',
  rejected: '_REJECTED',
} as const;
export const LANDING_MANIFEST = 'batch.json';

const RESERVED_TOP_LEVEL = new Set<string>([...Object.values(LANDING_MARKERS), LANDING_MANIFEST]);

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** The landing zone on a local (or shared network) folder. */
export class FsLandingZone implements LandingZone {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  dirOf(ref: LandingRef): string {
    return path.join(this.root, ref.folder, ref.batchId);
  }

  /** Every folder the watcher should be notified about: the root, landing folders, and batches not settled. */
  async watchedDirs(entries: readonly LandingEntry[]): Promise<string[]> {
    const folders = await subdirs(this.root);
    const open = entries.filter((e) => !e.finished).map((e) => this.dirOf(e));
    return [this.root, ...folders.map((d) => path.join(this.root, d)), ...open];
  }

  async scan(): Promise<LandingEntry[]> {
    const entries: LandingEntry[] = [];
    for (const folder of await subdirs(this.root)) {
      for (const batchId of await subdirs(path.join(this.root, folder))) {
        const ref = { folder, batchId };
        let names: string[];
        try {
          names = await fs.readdir(this.dirOf(ref));
        } catch (err) {
          if (isMissing(err)) continue;
          throw err;
        }
        const hasProcessing = names.includes(LANDING_MARKERS.processing);
        const ready = names.includes(LANDING_MARKERS.ready);
        const settled = names.includes(LANDING_MARKERS.done) || names.includes(LANDING_MARKERS.rejected);
        const entry: LandingEntry = {
          ...ref,
          ready: ready && !hasProcessing,
          finished: settled && !ready && !hasProcessing,
        };
        if (hasProcessing) {
          const processing = await this.readProcessing(ref);
          if (processing) entry.processing = processing;
        }
        entries.push(entry);
      }
    }
    return entries;
  }

  async claim(ref: LandingRef): Promise<boolean> {
    const dir = this.dirOf(ref);
    // The seed's gate: _READY and no _PROCESSING. The rename is the lock: of several watchers
    // (replicas) renaming the same _READY, exactly one succeeds and the others get ENOENT.
    if (await exists(path.join(dir, LANDING_MARKERS.processing))) return false;
    try {
      await fs.rename(path.join(dir, LANDING_MARKERS.ready), path.join(dir, LANDING_MARKERS.processing));
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
    // A batch folder submitted again: the outcome of the previous round no longer applies.
    await fs.rm(path.join(dir, LANDING_MARKERS.done), { force: true });
    await fs.rm(path.join(dir, LANDING_MARKERS.rejected), { force: true });
    return true;
  }

  async release(ref: LandingRef): Promise<void> {
    const dir = this.dirOf(ref);
    await fs.rename(path.join(dir, LANDING_MARKERS.processing), path.join(dir, LANDING_MARKERS.ready));
  }

  async touch(ref: LandingRef): Promise<void> {
    const now = new Date();
    await fs.utimes(path.join(this.dirOf(ref), LANDING_MARKERS.processing), now, now);
  }

  async takeOver(ref: LandingRef, changedAtMs: number): Promise<boolean> {
    const dir = this.dirOf(ref);
    const processing = path.join(dir, LANDING_MARKERS.processing);
    // One takeover per stale marker. Two watchers may both have seen it stale; the rename alone does
    // not tell them apart, as the first puts it back before the second renames. An exclusive create,
    // named after the change time they saw, does: the second finds it and steps back.
    const token = path.join(dir, `.${LANDING_MARKERS.processing}.takeover-${Math.floor(changedAtMs)}`);
    try {
      await (await fs.open(token, 'wx')).close();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
    const aside = path.join(dir, `.${LANDING_MARKERS.processing}.takeover-${randomBytes(6).toString('hex')}`);
    // The same rename lock as the claim: of several watchers, one moves the marker aside...
    try {
      await fs.rename(processing, aside);
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
    // ...and puts it back, which restarts its age (rename sets the change time).
    await fs.rename(aside, processing);
    return true;
  }

  async readManifest(ref: LandingRef): Promise<unknown> {
    let text: string;
    try {
      text = await fs.readFile(path.join(this.dirOf(ref), LANDING_MANIFEST), 'utf8');
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new AppError(
        'ING_ERR_BAD_MANIFEST',
        `${LANDING_MANIFEST} is not valid JSON: ${(err as Error).message}`,
      );
    }
  }

  async describeFiles(ref: LandingRef): Promise<SubmittedFile[]> {
    const dir = this.dirOf(ref);
    const found: { rel: string; abs: string }[] = [];
    await walk(dir, '', found);
    const files: SubmittedFile[] = [];
    for (const { rel, abs } of found) {
      const hasher = new HashingPassThrough({ md5: false });
      await pipeline(createReadStream(abs), hasher, discard());
      const { sha256, size } = hasher.result;
      files.push({ path: rel, uri: pathToFileURL(abs).href, sha256, size, head: hasher.head });
    }
    return files;
  }

  async listFiles(ref: LandingRef): Promise<string[]> {
    const found: { rel: string; abs: string }[] = [];
    await walk(this.dirOf(ref), '', found);
    return found.map((f) => f.rel);
  }

  uriOf(ref: LandingRef, rel: string): string {
    return pathToFileURL(path.join(this.dirOf(ref), ...rel.split('/'))).href;
  }

  async recordClaim(ref: LandingRef, claim: LandingClaim): Promise<void> {
    await writeAtomically(
      path.join(this.dirOf(ref), LANDING_MARKERS.processing),
      `${JSON.stringify(claim, null, 2)}\n`,
    );
  }

  async finish(ref: LandingRef, outcome: 'DONE' | 'REJECTED', body: Record<string, unknown>): Promise<void> {
    const dir = this.dirOf(ref);
    const marker = outcome === 'DONE' ? LANDING_MARKERS.done : LANDING_MARKERS.rejected;
    await writeAtomically(path.join(dir, marker), `${JSON.stringify(body, null, 2)}\n`);
    await fs.rm(path.join(dir, LANDING_MARKERS.processing), { force: true });
  }

  async deleteFiles(ref: LandingRef, paths: readonly string[]): Promise<void> {
    const dir = this.dirOf(ref);
    for (const rel of paths) await fs.rm(path.join(dir, ...rel.split('/')), { force: true });
    // Sub-folders emptied by the deletion go too; the batch folder stays for its _DONE marker.
    const parents = [
      ...new Set(paths.filter((p) => p.includes('/')).map((p) => p.slice(0, p.lastIndexOf('/')))),
    ];
    for (const parent of parents.sort((a, b) => b.length - a.length)) {
      await fs.rmdir(path.join(dir, ...parent.split('/'))).catch(() => undefined);
    }
  }

  private async readProcessing(ref: LandingRef): Promise<LandingEntry['processing']> {
    const file = path.join(this.dirOf(ref), LANDING_MARKERS.processing);
    try {
      const [stat, text] = await Promise.all([fs.stat(file), fs.readFile(file, 'utf8')]);
      let claim: LandingClaim | undefined;
      try {
        claim = text.trim() === '' ? undefined : (JSON.parse(text) as LandingClaim);
      } catch {
        claim = undefined;
      }
      // The change time, not the modification time: the rename that claimed the marker sets it,
      // while it keeps the mtime the producer gave _READY, which may be old.
      return { claim, ageMs: Date.now() - stat.ctimeMs, changedAtMs: stat.ctimeMs };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }
}

async function subdirs(dir: string): Promise<string[]> {
  try {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    return entries
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
}

/** Regular files below `dir`, as posix paths; dot-files (editor and transfer temp files) are skipped. */
async function walk(dir: string, rel: string, out: { rel: string; abs: string }[]): Promise<void> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (entry.name.startsWith('.')) continue;
    if (rel === '' && RESERVED_TOP_LEVEL.has(entry.name)) continue;
    const abs = path.join(dir, entry.name);
    const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) await walk(abs, childRel, out);
    else if (entry.isFile()) out.push({ rel: childRel, abs });
  }
}

async function writeAtomically(target: string, text: string): Promise<void> {
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}`);
  await fs.writeFile(temp, text);
  try {
    await fs.rename(temp, target);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
}

function discard(): Writable {
  return new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
}

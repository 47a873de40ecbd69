import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ScratchSpace } from '../domain/ports.ts';

/** Work folders for one batch each, under the service's WORK_DIR on the local disk. */
export function localScratchSpace(workDir: string): ScratchSpace {
  return {
    create: () => mkdtemp(path.join(workDir, 'preprocessor-')),
    remove: (dir) => rm(dir, { recursive: true, force: true }),
  };
}

import { readFileSync } from 'node:fs';
import { ConfigError } from './load.ts';

/** Reads a PEM file named by a setting; a missing or unreadable file is a configuration error naming it. */
export function readPemSetting(setting: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`${setting}: cannot read ${file} (${(err as Error).message})`]);
  }
}

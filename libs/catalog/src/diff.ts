import { createHash } from 'node:crypto';
import diff from 'microdiff';

/** One field that differs between two versions of a resource, at its dotted path. */
export interface FieldChange {
  path: string;
  from?: unknown;
  to?: unknown;
}

/** The fields that differ between `before` and `after` (either may be absent: created, deleted). */
export function diffSpecs(before: unknown, after: unknown): FieldChange[] {
  if (before === undefined && after === undefined) return [];
  if (before === undefined) return [{ path: '', to: after }];
  if (after === undefined) return [{ path: '', from: before }];
  return diff(before as Record<string, unknown>, after as Record<string, unknown>).map((d) => ({
    path: d.path.join('.'),
    ...(d.type === 'CREATE' ? {} : { from: d.oldValue as unknown }),
    ...(d.type === 'REMOVE' ? {} : { to: d.value as unknown }),
  }));
}

/** JSON with sorted keys, so equal content has one text whatever the key order of its file. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

export function specHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

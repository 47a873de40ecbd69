const OBJECT_HASH = /^([0-9a-f]{2})([0-9a-f]{30}(?:\.dir)?)$/;

/**
 * Where DVC 3 keeps an object in a cache or remote: `files/md5/<2 hex>/<30 hex>`, with the `.dir`
 * suffix kept for directory objects.
 */
export function dvcObjectKey(md5: string): string {
  const match = OBJECT_HASH.exec(md5);
  if (match === null) throw new Error(`Not a DVC md5: '${md5}'`);
  return `files/md5/${match[1]}/${match[2]}`;
}

import { AREAS, ERRORS, type ErrorCode } from './catalog.ts';

/** docs/errors.md, rendered from the catalog: one table per area, codes in order. */
export function renderErrorsDoc(): string {
  const lines = [
    '# Error codes',
    '',
    '<!-- Generated from libs/errors/src/catalog.ts by `node libs/errors/scripts/docs.ts`; do not edit. -->',
    '',
    'Every error of Tributary carries one of these codes: in HTTP error bodies',
    '(`{ "error": { "code", "message", "details"? } }`), in the `dlq-error-code` header and the',
    '`error_code` of dead letters, in the `error_code` of `batch.rejected`, and in log lines. **Retriable**',
    'is the default of the code: the consumer runner retries a retriable error with backoff',
    '(CONSUMER_MAX_RETRIES times) and dead-letters the others at once. **HTTP** is the status a route',
    'answers with the code; a request the HTTP layer refuses before a route runs (malformed JSON, a body',
    'over the limit, an unsupported media type) is `<AREA>_ERR_BAD_REQUEST` with its own status (400,',
    '413, 415), and an unknown route is `<AREA>_ERR_NOT_FOUND`. How to add a code: docs/development.md,',
    '"Errors".',
    '',
  ];
  const codes = (Object.keys(ERRORS) as ErrorCode[]).sort();
  for (const [area, description] of Object.entries(AREAS)) {
    const own = codes.filter((c) => c.startsWith(`${area}_ERR_`));
    if (own.length === 0) continue;
    lines.push(
      `## ${area}: ${description}`,
      '',
      '| Code | HTTP | Retriable | Meaning |',
      '| --- | --- | --- | --- |',
    );
    for (const code of own) {
      const spec = ERRORS[code];
      lines.push(
        `| \`${code}\` | ${spec.status} | ${spec.retriable ? 'yes' : 'no'} | ${spec.doc.replaceAll('|', '\\|')} |`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}

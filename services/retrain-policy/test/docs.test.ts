import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { retrainRequested } from '@tributary/events';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');
const doc = read('../../../docs/retrain-requested.md');

describe('docs/retrain-requested.md', () => {
  it('when the training team reads it, then every field of the schema is explained', () => {
    const fields = (retrainRequested.schema.fields as { name: string }[]).map((f) => f.name);
    for (const field of fields)
      expect(doc, field).toMatch(new RegExp(`\\n\\| \`${field}\` \\| [^|]+ \\| \\S`));
  });

  it('when it shows the consumer example, then it is the type-checked file, verbatim', () => {
    expect(doc).toContain(`\`\`\`ts\n${read('../examples/training-consumer.ts')}\`\`\``);
  });
});

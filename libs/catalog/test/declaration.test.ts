import { describe, expect, it } from 'vitest';
import { describeIssues, refreshJobSchema } from '../src/index.ts';

const job = (augmentation: unknown) => ({ name: 'penguins-eval', engine: 'ray', augmentation });

describe('refresh job declarations', () => {
  it('when a job declares SQL augmentations, then they are kept in order with their probability defaulted, on either engine', () => {
    const parsed = refreshJobSchema.parse(
      job({
        sql: [
          { name: 'shout', column: 'text', expression: 'upper(text)' },
          { name: 'tagged', column: 'text', expression: " text || ' #' || label ", probability: 0.2 },
        ],
      }),
    );
    expect(parsed.engine).toBe('ray');
    expect(parsed.augmentation.sql).toEqual([
      { name: 'shout', column: 'text', expression: 'upper(text)', probability: 1 },
      { name: 'tagged', column: 'text', expression: "text || ' #' || label", probability: 0.2 },
    ]);
    expect(refreshJobSchema.parse({ name: 'plain' }).augmentation.sql).toEqual([]);
  });

  it('when a SQL augmentation is not one named expression, then the declaration is refused naming the problem', () => {
    const refused = (sql: unknown[]) => {
      const result = refreshJobSchema.safeParse(job({ sql }));
      expect(result.success).toBe(false);
      return describeIssues(result.error!).join('\n');
    };
    expect(refused([{ name: 'dropout', column: 'text', expression: 'upper(text)' }])).toContain(
      'dropout and image_hflip name the built-in augmentations',
    );
    expect(refused([{ name: 'drop', column: 'text', expression: 'upper(text); DROP TABLE x' }])).toContain(
      'expected one SQL expression',
    );
    const twice = { name: 'shout', column: 'text', expression: 'upper(text)' };
    expect(refused([twice, twice])).toContain('each SQL augmentation needs its own name');
  });
});

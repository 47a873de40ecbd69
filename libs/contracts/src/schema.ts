import { z } from 'zod';

/** Column types a contract can declare; each maps to one Parquet/DuckDB type in the master. */
export const columnType = z.enum(['string', 'integer', 'number', 'boolean', 'date', 'timestamp']);

export const columnSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'column names are identifiers'),
    type: columnType,
    description: z.string().optional(),
    nullable: z.boolean().default(false),
    unique: z.boolean().default(false),
    min: z.number().optional(),
    max: z.number().optional(),
    enum: z.array(z.union([z.string(), z.number()])).min(1).optional(),
    pattern: z.string().optional(),
    max_length: z.number().int().positive().optional(),
  })
  .strict();

export const imageRulesSchema = z
  .object({
    /** Formats accepted on input (as decoded, not by file extension). */
    formats: z.array(z.enum(['jpeg', 'png', 'webp', 'gif', 'tiff'])).default(['jpeg', 'png', 'webp']),
    max_bytes: z.number().int().positive().default(20 * 1024 * 1024),
    min_width: z.number().int().positive().default(8),
    min_height: z.number().int().positive().default(8),
    max_width: z.number().int().positive().default(16_384),
    max_height: z.number().int().positive().default(16_384),
    /** The one form every stored image takes: format and bounded longest side. */
    canonical: z
      .object({ format: z.enum(['png', 'webp', 'jpeg']).default('png'), max_side: z.number().int().positive().default(1024) })
      .strict()
      .default({ format: 'png', max_side: 1024 }),
  })
  .strict();

export const contractSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/),
    version: z.string().regex(/^\d+\.\d+\.\d+$/, 'expected a semantic version like 1.0.0'),
    description: z.string().optional(),
    owner: z.string().optional(),
    primary_key: z.array(z.string()).min(1),
    /** Column holding the path (inside the batch) of the row's image, if rows link to images. */
    image_column: z.string().optional(),
    /** What a bad row does to its batch: reject the whole batch, or quarantine the row and merge the rest. */
    on_bad_rows: z.enum(['reject_batch', 'quarantine']),
    /** In quarantine mode, a batch with a larger share of bad rows is rejected whole. */
    max_bad_row_ratio: z.number().min(0).max(1).default(1),
    columns: z.array(columnSchema).min(1),
    images: imageRulesSchema.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const names = new Set(c.columns.map((col) => col.name));
    for (const key of c.primary_key) {
      if (!names.has(key)) ctx.addIssue({ code: 'custom', message: `primary key column ${key} is not declared` });
    }
    if (c.image_column && !names.has(c.image_column)) {
      ctx.addIssue({ code: 'custom', message: `image_column ${c.image_column} is not declared` });
    }
    if (c.image_column && !c.images) {
      ctx.addIssue({ code: 'custom', message: 'image_column needs an images section' });
    }
  });

export type DataContract = z.output<typeof contractSchema>;
export type ContractColumn = z.output<typeof columnSchema>;
export type ImageRules = z.output<typeof imageRulesSchema>;

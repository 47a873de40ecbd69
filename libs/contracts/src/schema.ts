import { z } from 'zod';

/** Column types a contract can declare; each maps to one Parquet/DuckDB type in the master. */
export const columnType = z.enum(['string', 'integer', 'number', 'boolean', 'date', 'timestamp']);
export type ColumnType = z.output<typeof columnType>;

export const columnSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'column names are identifiers'),
    type: columnType,
    description: z.string().optional(),
    nullable: z.boolean().default(false),
    unique: z.boolean().default(false),
    min: z.number().optional(),
    max: z.number().optional(),
    enum: z
      .array(z.union([z.string(), z.number()]))
      .min(1)
      .optional(),
    pattern: z.string().optional(),
    max_length: z.number().int().positive().optional(),
    /**
     * String columns refuse C0 control characters other than tab (NUL, CR, LF, ESC...) unless this
     * is true: they are almost always a broken export, and they break CSV readers downstream.
     */
    allow_control_chars: z.boolean().default(false),
  })
  .strict();

export const imageRulesSchema = z
  .object({
    /** Formats accepted on input (as decoded, not by file extension). */
    formats: z.array(z.enum(['jpeg', 'png', 'webp', 'gif', 'tiff'])).default(['jpeg', 'png', 'webp']),
    max_bytes: z
      .number()
      .int()
      .positive()
      .default(20 * 1024 * 1024),
    min_width: z.number().int().positive().default(8),
    min_height: z.number().int().positive().default(8),
    max_width: z.number().int().positive().default(16_384),
    max_height: z.number().int().positive().default(16_384),
    /** The one form every stored image takes: format and bounded longest side. */
    canonical: z
      .object({
        format: z.enum(['png', 'webp', 'jpeg']).default('png'),
        max_side: z.number().int().positive().default(1024),
      })
      .strict()
      .default({ format: 'png', max_side: 1024 }),
  })
  .strict();

/** Column types a primary key may use: their text form is canonical (no float rounding, no time zones). */
export const KEY_TYPES: readonly ColumnType[] = ['string', 'integer', 'date'];

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
    if (names.size !== c.columns.length)
      ctx.addIssue({ code: 'custom', message: 'column names must be unique' });
    for (const key of c.primary_key) {
      const col = c.columns.find((x) => x.name === key);
      if (!col) {
        ctx.addIssue({ code: 'custom', message: `primary key column ${key} is not declared` });
      } else if (col.nullable) {
        ctx.addIssue({ code: 'custom', message: `primary key column ${key} cannot be nullable` });
      } else if (!KEY_TYPES.includes(col.type)) {
        ctx.addIssue({
          code: 'custom',
          message: `primary key column ${key} must be ${KEY_TYPES.join(', ')}`,
        });
      }
    }
    for (const col of c.columns) {
      if (col.pattern !== undefined) {
        try {
          new RegExp(col.pattern, 'u');
        } catch {
          ctx.addIssue({
            code: 'custom',
            message: `column ${col.name}: pattern is not a valid regular expression`,
          });
        }
      }
      if (col.min !== undefined && col.max !== undefined && col.min > col.max) {
        ctx.addIssue({ code: 'custom', message: `column ${col.name}: min is above max` });
      }
      if (col.allow_control_chars && col.type !== 'string') {
        ctx.addIssue({
          code: 'custom',
          message: `column ${col.name}: allow_control_chars applies to string columns`,
        });
      }
      if (
        (col.min !== undefined || col.max !== undefined) &&
        col.type !== 'integer' &&
        col.type !== 'number'
      ) {
        ctx.addIssue({
          code: 'custom',
          message: `column ${col.name}: min/max apply to integer and number columns`,
        });
      }
    }
    if (c.image_column && !names.has(c.image_column)) {
      ctx.addIssue({ code: 'custom', message: `image_column ${c.image_column} is not declared` });
    } else if (c.image_column && c.columns.find((x) => x.name === c.image_column)?.type !== 'string') {
      ctx.addIssue({ code: 'custom', message: `image_column ${c.image_column} must be a string column` });
    }
    if (c.image_column && !c.images) {
      ctx.addIssue({ code: 'custom', message: 'image_column needs an images section' });
    }
  });

export type DataContract = z.output<typeof contractSchema>;
/** A contract as written in its YAML file, before defaults are applied. */
export type DataContractInput = z.input<typeof contractSchema>;
export type ContractColumn = z.output<typeof columnSchema>;
export type ImageRules = z.output<typeof imageRulesSchema>;

import { z } from 'zod';
import { datasetDeclarationSchema } from './declaration.ts';

/** The JSON Schema of a dataset declaration, for editors (`$schema:` or yaml-language-server). */
export function declarationJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(datasetDeclarationSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'Tributary dataset declaration',
  };
}

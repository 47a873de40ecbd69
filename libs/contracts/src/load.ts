import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { AppError } from '@tributary/errors';
import { contractSchema, type DataContract } from './schema.ts';

/**
 * Reads `<dir>/<name>/<version>.yaml`. An unknown contract or an invalid file is a
 * non-retriable CONTRACT_ERR_* naming the problem: the batch is rejected, not retried.
 */
export async function loadContract(dir: string, name: string, version: string): Promise<DataContract> {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(name) || !/^\d+\.\d+\.\d+$/.test(version)) {
    throw new AppError('CONTRACT_ERR_UNKNOWN', `Unknown data contract ${name}@${version}`, {
      details: { name, version },
    });
  }
  const file = join(dir, name, `${version}.yaml`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new AppError('CONTRACT_ERR_UNKNOWN', `Unknown data contract ${name}@${version}`, {
      details: { name, version },
    });
  }
  const parsed = contractSchema.safeParse(parse(text));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(contract)'}: ${i.message}`);
    throw new AppError(
      'CONTRACT_ERR_INVALID',
      `Data contract ${name}@${version} is invalid: ${problems.join('; ')}`,
      {
        details: { name, version, problems },
      },
    );
  }
  if (parsed.data.name !== name || parsed.data.version !== version) {
    throw new AppError(
      'CONTRACT_ERR_INVALID',
      `Contract file ${name}/${version}.yaml declares ${parsed.data.name}@${parsed.data.version}`,
    );
  }
  return parsed.data;
}

/**
 * `npm run migrate [-- <service>...]`: applies the services' Postgres migrations without starting
 * them (services also migrate at start-up). Each service migrates its own schema (DATABASE_SCHEMA,
 * default its name) from its `migrations/` folder, plus the outbox table when it uses the outbox.
 */
import { readFileSync } from 'node:fs';
import { migrate } from '@tributary/db';
import { outboxMigrations } from '@tributary/outbox';

const ALL = ['ingestor', 'preprocessor', 'quality-gate', 'publisher', 'notifier', 'retrain-policy'];
const url = process.env.DATABASE_URL;
if (!url) {
  process.stderr.write(
    'migrate: DATABASE_URL is not set (eval "$(scripts/stack.sh env)" for the local stack)\n',
  );
  process.exit(1);
}
const services = process.argv.slice(2);
for (const service of services.length > 0 ? services : ALL) {
  if (!ALL.includes(service)) {
    process.stderr.write(`migrate: unknown service ${service} (known: ${ALL.join(', ')})\n`);
    process.exit(1);
  }
  const root = new URL(`../services/${service}/`, import.meta.url);
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const dirs = [
    new URL('migrations/', root),
    ...('@tributary/outbox' in (pkg.dependencies ?? {}) ? [outboxMigrations] : []),
  ];
  const schema = process.env.DATABASE_SCHEMA ?? service.replaceAll('-', '_');
  const applied = await migrate({ url, schema, dirs });
  process.stdout.write(
    `${service}: ${applied.length > 0 ? `applied ${applied.join(', ')}` : 'up to date'} (schema ${schema})\n`,
  );
}

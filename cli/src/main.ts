import { Command } from 'commander';
import { commands } from './commands/index.ts';

const program = new Command('tributary')
  .description('Tributary: batches flow into a versioned master dataset over Kafka.')
  .showHelpAfterError();
for (const register of commands) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`tributary: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}

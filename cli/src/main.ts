import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { commandAreas } from './commands/index.ts';

// cli/package.json: beside src/ in a checkout, beside dist/ in the installed package.
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

// kafkajs 2.2.4 arms a timer with a negative delay; Node clamps it to 1 ms as it always did, and since
// Node 23 also prints a TimeoutNegativeWarning, which is noise in a command's output. Other warnings print.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name !== 'TimeoutNegativeWarning') process.stderr.write(`${w.name}: ${w.message}\n`);
});

const program = new Command('tributary')
  .description('Tributary: batches flow into a versioned master dataset over Kafka.')
  .version(version, '-V, --version', 'print the version')
  .showHelpAfterError();

// Commands whose output is JSON whatever the flags: they accept --json too, so that scripts can pass
// --json to every read command (the others define their own --json).
const ALWAYS_JSON = new Set([
  'retrain threshold get',
  'retrain threshold set',
  'retrain threshold history',
  'retrain decisions',
  'refresh run',
  'refresh cancel',
  'refresh runs',
  'refresh jobs',
  'refresh baseline-audit',
  'datasets schema',
]);

function acceptJsonEverywhere(cmd: Command, path = ''): void {
  if (ALWAYS_JSON.has(path) && !cmd.options.some((o) => o.long === '--json'))
    cmd.addOption(new Option('--json', 'print JSON (this command always does)'));
  for (const sub of cmd.commands) acceptJsonEverywhere(sub, path ? `${path} ${sub.name()}` : sub.name());
}

// Only the area being run is imported; listing the areas (help, a mistyped command) imports none.
const args = process.argv.slice(2);
const first = args.find((a) => !a.startsWith('-'));
const wanted = first === 'help' ? args[args.indexOf('help') + 1] : first;
const area = commandAreas.find((a) => a.name === wanted);
if (area) {
  (await area.load())(program);
  acceptJsonEverywhere(program);
} else if (wanted === 'completion') {
  for (const a of commandAreas) (await a.load())(program);
  acceptJsonEverywhere(program);
  const { completionScript } = await import('./completion.ts');
  program
    .command('completion')
    .description('Print the shell completion script (bash or zsh)')
    .argument('<shell>', 'bash or zsh')
    .action((shell: string) => {
      if (shell !== 'bash' && shell !== 'zsh')
        throw new Error(`no completion for '${shell}': give bash or zsh`);
      process.stdout.write(completionScript(program, shell));
    });
} else {
  for (const a of commandAreas) program.command(a.name).description(a.description);
  program.command('completion').description('Print the shell completion script (bash or zsh)');
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`tributary: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}

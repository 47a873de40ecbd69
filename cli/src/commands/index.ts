import type { Command } from 'commander';
import { registerDatasets } from './datasets.ts';
import { registerDlq } from './dlq.ts';
import { registerLineage } from './lineage.ts';
import { registerRefresh } from './refresh.ts';
import { registerRetrain } from './retrain.ts';
import { registerSubmit } from './submit.ts';

/** Each command area registers its subcommands; add a module here to add an area. */
export const commands: ((program: Command) => void)[] = [];
commands.push(registerRetrain);
commands.push(registerSubmit);
commands.push(registerRefresh);
commands.push(registerLineage);
commands.push(registerDlq);
commands.push(registerDatasets);

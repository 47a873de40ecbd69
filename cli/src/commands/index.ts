import type { Command } from 'commander';

/** Each command area registers its subcommands; add a module here to add an area. */
export const commands: ((program: Command) => void)[] = [];

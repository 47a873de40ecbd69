import { defineService } from '@tributary/runtime';

/** The console consumes no topic (it reads dead letters on demand) and publishes none. */
export const manifest = defineService({ name: 'console', consumes: [] });

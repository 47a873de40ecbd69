export { OUTBOX_CHANNEL_PREFIX, enqueueEvent } from './enqueue.ts';
export { OUTBOX_ID_HEADER, OutboxRelay, type OutboxRelayOptions, type RelayEvents } from './relay.ts';

/** Migrations folder of the outbox table; pass it to `migrate()` beside the service's own. */
export const outboxMigrations = new URL('../migrations/', import.meta.url);

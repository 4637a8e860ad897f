import { fileURLToPath } from 'node:url';
import type { MigrationSource } from '@shop/platform/postgres/migrate';

/** The order service's own tables, applied after the event store's, the outbox's and the workflow runtime's. */
export const orderMigrations: MigrationSource = {
  name: 'order',
  dir: fileURLToPath(new URL('../migrations', import.meta.url)),
};

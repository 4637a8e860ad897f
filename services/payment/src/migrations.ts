import { fileURLToPath } from 'node:url';
import type { MigrationSource } from '@shop/platform/postgres/migrate';

/** The payment service's own tables, applied after the outbox's, the relay's and the processor's. */
export const paymentMigrations: MigrationSource = {
  name: 'payment',
  dir: fileURLToPath(new URL('../migrations', import.meta.url)),
};

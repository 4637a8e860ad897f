import { fileURLToPath } from 'node:url';
import type { MigrationSource } from '@shop/platform/postgres/migrate';

/** The cart's own tables, applied after the event store's (see migrations/README.md). */
export const cartMigrations: MigrationSource = {
  name: 'cart',
  dir: fileURLToPath(new URL('../migrations', import.meta.url)),
};

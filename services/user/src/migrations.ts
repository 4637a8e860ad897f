import { fileURLToPath } from 'node:url';
import type { MigrationSource } from '@shop/platform/postgres/migrate';

/** The user's own tables, applied after the event store's (see migrations/README.md). */
export const userMigrations: MigrationSource = {
  name: 'user',
  dir: fileURLToPath(new URL('../migrations', import.meta.url)),
};

import { fileURLToPath } from 'node:url';
import type { MigrationSource } from '@shop/platform/postgres/migrate';

/** The reports database: the sales ledger. */
export const reportsMigrations: MigrationSource = {
  name: 'reports',
  dir: fileURLToPath(new URL('../migrations', import.meta.url)),
};

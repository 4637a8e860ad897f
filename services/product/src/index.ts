import { fileURLToPath } from 'node:url';
import type { MigrationSource } from '@shop/platform/postgres/migrate';

export { Catalog } from './app/catalog.js';
export { Reservations } from './app/reservations.js';
export { postgresProducts } from './adapters/postgres/product-repository.js';
export { postgresReservations } from './adapters/postgres/reservation-repository.js';
export { productService, PRODUCT_SERVICE } from './adapters/grpc/product-handlers.js';

export const productMigrations: MigrationSource = {
  name: 'product',
  dir: fileURLToPath(new URL('../migrations', import.meta.url)),
};

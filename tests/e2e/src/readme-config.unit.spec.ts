import { readFileSync } from 'node:fs';
import test from 'ava';

/**
 * README's "Configuration" names every environment variable every process reads: each key
 * of each process's config schema (what start-up validates) appears in README.md, quoted as
 * code. A variable added without a word for its users fails here.
 */
const processes = [
  'bff/src/config.ts',
  'services/product/src/config.ts',
  'services/cart/src/command/config.ts',
  'services/cart/src/projector/config.ts',
  'services/cart/src/query/config.ts',
  'services/user/src/command/config.ts',
  'services/user/src/projector/config.ts',
  'services/user/src/query/config.ts',
  'services/order/src/config.ts',
  'services/payment/src/config.ts',
  'services/reports/src/config.ts',
  'services/notifications/src/config.ts',
];
const root = new URL('../../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');

for (const file of processes) {
  test(`README names every variable of ${file}`, async (t) => {
    const { configSchema } = (await import(new URL(file, root).href)) as { configSchema: { shape: Record<string, unknown> } };
    const variables = Object.keys(configSchema.shape);
    t.true(variables.length > 3, 'the schema was read');
    t.deepEqual(variables.filter((v) => !readme.includes(`\`${v}\``)), []);
  });
}

import { randomBytes, randomUUID } from 'node:crypto';
import type { TestFn } from 'ava';
import { ShopGrpc, shopMethods, show } from './grpc.js';
import { closeDatabases, productUnchanged, userUnchanged } from './stores.js';
import { asService } from './tokens.js';

/**
 * What the fuzz specs fuzz against: a catalog product all of a file's tests share and, per
 * test and on demand, a product and a user of its own. All are removed once the file's
 * run is over, with whatever a service wrongly made from a malformed request.
 */

export const hex = (bytes = 5) => randomBytes(bytes).toString('hex');

/** What one test of a case has: the catalog fixture and, made on demand, things of its own. */
export interface Ctx {
  /** A live product nobody changes (lines of carts, orders and reservations point at it). */
  product: string;
  /** A product of this test alone (for the cases that must reach a product's revision). */
  victim(): Promise<string>;
  /** A registered user of this test alone, with their password. */
  user(): Promise<{ id: string; password: string }>;
  /** A customer id of this test alone (never registered: a token of the local stack is enough). */
  customer: string;
  /** A marker for the text fields of this test (products are found by it afterwards). */
  marker: string;
}

/** The fixtures of one spec file, made before its tests and removed after them (hooks registered on `test`). */
export function fuzzFixtures(test: TestFn) {
  /** For fixtures and clean-up; each test calls through connections of its own. */
  const grpc = new ShopGrpc();
  let product: Promise<string> | undefined;
  const victims: string[] = [];
  const users: string[] = [];

  test.before(async () => {
    product = createProduct(grpc, `Fuzz fixture ${hex()}`);
    await product;
  });

  test.after.always(async () => {
    // The victims are the tests' own: gone from the catalog once the run is over.
    for (const id of victims) await deleteProduct(grpc, id);
    for (const id of users) await deleteUser(grpc, id);
    grpc.close();
    await closeDatabases();
  });

  return {
    /** A context of one test: the shared product, the rest its own. */
    async context(): Promise<Ctx> {
      let victim: Promise<string> | undefined;
      let user: Promise<{ id: string; password: string }> | undefined;
      return {
        product: await product!,
        customer: randomUUID(),
        marker: `fz${hex()}`,
        victim: () => (victim ??= createProduct(grpc, `Fuzz victim ${hex()}`).then((id) => (victims.push(id), id))),
        user: () => (user ??= registerUser(grpc).then((u) => (users.push(u.id), u))),
      };
    },
    /** A product or user a request made (wrongly, for a malformed one): to be removed at the end. */
    leftBehind(made: { product?: unknown; user?: unknown }): void {
      if (typeof made.product === 'string' && made.product && !victims.includes(made.product)) victims.push(made.product);
      if (typeof made.user === 'string' && made.user && !users.includes(made.user)) users.push(made.user);
    },
  };
}

/** The test's own product as it was made: the malformed changes changed nothing. */
export const victimUntouched = async (ctx: Ctx) => productUnchanged(await ctx.victim());

/** The test's own user as registered. */
export const userUntouched = async (ctx: Ctx) => userUnchanged((await ctx.user()).id);

const contract = shopMethods();
const rpc = (name: string) => contract.get(name)!;

/** A product of the fuzz tests (category `fuzz-fixture`), made as the shop. */
async function createProduct(grpc: ShopGrpc, name: string): Promise<string> {
  const out = await grpc.call(
    rpc('shop.product.v1.ProductService/CreateProduct'),
    { name, description: 'made by the fuzz tests', category: 'fuzz-fixture', price: { amountCents: 1_500n, currency: 'USD' }, quantityOnHand: 1_000 },
    await asService(),
  );
  if (!out.ok) throw new Error(`fixture product: ${show(out)}`);
  return (out.response as { product: { id: string } }).product.id;
}

async function deleteProduct(grpc: ShopGrpc, id: string): Promise<void> {
  await grpc.call(rpc('shop.product.v1.ProductService/DeleteProduct'), { id }, await asService());
}

/** A registered user (and their password), registered as an anonymous client would. */
async function registerUser(grpc: ShopGrpc): Promise<{ id: string; password: string }> {
  const username = `fz${hex(6)}`;
  const password = `pw ${hex(8)}`;
  const out = await grpc.call(rpc('shop.user.v1.UserCommandService/RegisterUser'), { username, email: `${username}@example.com`, password }, {});
  if (!out.ok) throw new Error(`fixture user: ${show(out)}`);
  return { id: (out.response as { userId: string }).userId, password };
}

/** Deletes a user as the shop may (their personal data erased, their name freed). */
async function deleteUser(grpc: ShopGrpc, id: string): Promise<void> {
  await grpc.call(rpc('shop.user.v1.UserCommandService/DeleteAccount'), { userId: id }, await asService());
}

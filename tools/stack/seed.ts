/**
 * The demo catalog, loaded through the public GraphQL API (through Envoy) as an admin
 * would. Idempotent: products are keyed by SKU, and a SKU that exists is skipped.
 */
const demo = [
  { sku: 'DEMO-LAMP', name: 'Desk lamp', category: 'home-office', price: 2599, quantity: 40, description: 'Warm LED desk lamp with a dimmer.' },
  { sku: 'DEMO-CHAIR', name: 'Ergonomic chair', category: 'home-office', price: 18900, quantity: 12, description: 'Mesh back, adjustable arms.' },
  { sku: 'DEMO-MUG', name: 'Coffee mug', category: 'kitchen', price: 1200, quantity: 200, description: 'Stoneware, 350 ml.' },
  { sku: 'DEMO-KETTLE', name: 'Electric kettle', category: 'kitchen', price: 3450, quantity: 30, description: '1.7 l, auto shut-off.' },
  { sku: 'DEMO-BOOK', name: 'Designing Data-Intensive Applications', category: 'books', price: 4299, quantity: 25, description: 'Martin Kleppmann.' },
  { sku: 'DEMO-HEADPHONES', name: 'Noise-cancelling headphones', category: 'electronics', price: 24900, quantity: 8, description: 'Over-ear, 30 h battery.' },
  { sku: 'DEMO-CABLE', name: 'USB-C cable', category: 'electronics', price: 999, quantity: 500, description: '2 m, 100 W.' },
  { sku: 'DEMO-PLANT', name: 'Potted fern', category: 'garden', price: 1850, quantity: 15, description: 'Easy-care indoor plant.' },
];

const mutation = `mutation Seed($input: CreateProductInput) { createProduct(input: $input) { id } }`;

export async function seedDemoCatalog(graphqlUrl: string, apiKey: string): Promise<number> {
  let created = 0;
  for (const input of demo) {
    const res = await fetch(graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      body: JSON.stringify({ query: mutation, variables: { input } }),
    });
    const body = (await res.json()) as { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> };
    const error = body.errors?.[0];
    if (!error) created++;
    else if (error.extensions?.code !== 'CONFLICT') throw new Error(`seeding ${input.sku} failed: ${error.message}`);
  }
  return created;
}

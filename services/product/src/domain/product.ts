import { IllegalStateError, ValidationError } from '@shop/platform/errors';

/** A catalog entry with its stock. Money in minor units (cents). */
export interface Product {
  id: string;
  name: string;
  description: string;
  category: string;
  sku: string | null;
  priceCents: number;
  currency: string;
  quantityOnHand: number;
  quantityReserved: number;
  active: boolean;
  /** Incremented on every change; the optimistic-concurrency token and the event version. */
  revision: number;
  createdAt: Date;
  updatedAt: Date;
}

/** The fields a client may set. */
export interface ProductFields {
  name: string;
  description: string;
  category: string;
  sku: string | null;
  priceCents: number;
  currency: string;
  quantityOnHand: number;
  active: boolean;
}

export const updatableFields = [
  'name',
  'description',
  'category',
  'sku',
  'price',
  'quantity_on_hand',
  'active',
] as const;
export type UpdatableField = (typeof updatableFields)[number];

export const limits = {
  nameMax: 200,
  descriptionMax: 5_000,
  categoryMax: 64,
  skuMax: 64,
  /** 100 million in major units: far beyond any real price, far below 2^53. */
  priceMaxCents: 10_000_000_000,
  quantityMax: 1_000_000_000,
  /** Units one delivery may bring (RestockProduct). */
  restockMax: 1_000_000,
} as const;

const categoryPattern = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const currencyPattern = /^[A-Z]{3}$/;

/**
 * Checks the invariants of a product's fields, naming the first bad field as the
 * client sent it (proto field names).
 */
export function checkFields(f: ProductFields): ProductFields {
  const name = f.name.trim();
  if (name.length === 0) throw new ValidationError('name', 'must not be empty');
  if (name.length > limits.nameMax) throw new ValidationError('name', `must be at most ${limits.nameMax} characters`);
  if (f.description.length > limits.descriptionMax) {
    throw new ValidationError('description', `must be at most ${limits.descriptionMax} characters`);
  }
  const category = f.category.trim().toLowerCase();
  if (!categoryPattern.test(category) || category.length > limits.categoryMax) {
    throw new ValidationError('category', 'must be a slug of lowercase letters, digits and dashes (e.g. "home-office")');
  }
  if (f.sku !== null && (f.sku.trim().length === 0 || f.sku.length > limits.skuMax)) {
    throw new ValidationError('sku', `must be 1 to ${limits.skuMax} characters when given`);
  }
  if (!Number.isSafeInteger(f.priceCents) || f.priceCents < 0 || f.priceCents > limits.priceMaxCents) {
    throw new ValidationError('price.amount_cents', `must be a whole number of cents from 0 to ${limits.priceMaxCents}`);
  }
  if (!currencyPattern.test(f.currency)) throw new ValidationError('price.currency', 'must be an ISO 4217 code like "USD"');
  if (!Number.isSafeInteger(f.quantityOnHand) || f.quantityOnHand < 0 || f.quantityOnHand > limits.quantityMax) {
    throw new ValidationError('quantity_on_hand', `must be a whole number from 0 to ${limits.quantityMax}`);
  }
  return { ...f, name, category, sku: f.sku?.trim() ?? null };
}

/** Applies an update to the listed fields only, then re-checks the invariants. */
export function applyUpdate(current: Product, patch: Partial<ProductFields>, mask: UpdatableField[]): ProductFields {
  if (mask.length === 0) throw new ValidationError('update_mask', `must list at least one of: ${updatableFields.join(', ')}`);
  const next: ProductFields = { ...current };
  for (const field of mask) {
    switch (field) {
      case 'name':
        next.name = patch.name ?? '';
        break;
      case 'description':
        next.description = patch.description ?? '';
        break;
      case 'category':
        next.category = patch.category ?? '';
        break;
      case 'sku':
        next.sku = patch.sku ?? null;
        break;
      case 'price':
        next.priceCents = patch.priceCents ?? -1;
        next.currency = patch.currency ?? current.currency;
        break;
      case 'quantity_on_hand':
        next.quantityOnHand = patch.quantityOnHand ?? -1;
        break;
      case 'active':
        next.active = patch.active ?? false;
        break;
      default: {
        const never: never = field;
        throw new ValidationError('update_mask', `unknown field ${String(never)}`);
      }
    }
  }
  const checked = checkFields(next);
  if (checked.quantityOnHand < current.quantityReserved) {
    throw new IllegalStateError(
      `quantity_on_hand cannot go below the ${current.quantityReserved} units reserved for orders in flight`,
    );
  }
  return checked;
}

/** Stock an order line may still take. */
export const available = (p: Pick<Product, 'quantityOnHand' | 'quantityReserved'>) => p.quantityOnHand - p.quantityReserved;

export interface StockLine {
  productId: string;
  quantity: number;
}

export interface StockShortage {
  productId: string;
  requested: number;
  available: number;
}

/** Checks the shape of reservation lines: each product once, each quantity at least 1. */
export function checkStockLines(lines: StockLine[]): void {
  if (lines.length === 0) throw new ValidationError('lines', 'must not be empty');
  const seen = new Set<string>();
  lines.forEach((line, i) => {
    if (seen.has(line.productId)) throw new ValidationError(`lines[${i}].product_id`, 'appears twice');
    seen.add(line.productId);
    if (!Number.isSafeInteger(line.quantity) || line.quantity < 1 || line.quantity > limits.quantityMax) {
      throw new ValidationError(`lines[${i}].quantity`, 'must be at least 1');
    }
  });
}

/**
 * Decides an all-or-nothing reservation: the lines that cannot be served (unknown or
 * inactive product, not enough unreserved stock). Empty means every line fits.
 */
export function shortages(lines: StockLine[], products: ReadonlyMap<string, Product>): StockShortage[] {
  const result: StockShortage[] = [];
  for (const line of lines) {
    const p = products.get(line.productId);
    const free = p && p.active ? available(p) : 0;
    if (free < line.quantity) result.push({ productId: line.productId, requested: line.quantity, available: free });
  }
  return result;
}

/** A delivery arrived: more units on hand, the next revision. */
export function restock(p: Product, quantity: number, now: Date): Product {
  checkRestockQuantity(quantity);
  if (p.quantityOnHand + quantity > limits.quantityMax) {
    throw new IllegalStateError(`quantity_on_hand of product ${p.id} would exceed ${limits.quantityMax} (it is ${p.quantityOnHand})`);
  }
  return { ...p, quantityOnHand: p.quantityOnHand + quantity, revision: p.revision + 1, updatedAt: now };
}

export function checkRestockQuantity(quantity: number): void {
  if (!Number.isSafeInteger(quantity) || quantity < 1 || quantity > limits.restockMax) {
    throw new ValidationError('quantity', `must be a whole number from 1 to ${limits.restockMax}`);
  }
}

/**
 * Moves a product's counters by a reservation's event (domain/reservation.ts). The
 * reservation rules keep them in bounds; a move that would not is a bug, not a user error.
 */
export function moveStock(p: Product, move: { reserved: number; onHand: number }, now: Date): Product {
  const next = { ...p, quantityReserved: p.quantityReserved + move.reserved, quantityOnHand: p.quantityOnHand + move.onHand };
  if (next.quantityReserved < 0 || next.quantityReserved > next.quantityOnHand) {
    throw new Error(`stock of product ${p.id} out of bounds: ${next.quantityReserved} reserved of ${next.quantityOnHand} on hand`);
  }
  return { ...next, revision: p.revision + 1, updatedAt: now };
}

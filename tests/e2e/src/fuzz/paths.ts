const camel = (snake: string) => snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * Sets `value` at a field path as servers name it (proto: `lines[1].product_id`,
 * `price.amount_cents`; GraphQL, `as-is`: `products[0]._id`) in a request, creating the
 * objects on the way; `undefined` removes the field.
 */
export function setPath(target: Record<string, unknown>, path: string, value: unknown, names: 'proto' | 'as-is' = 'proto'): void {
  const steps = path.split('.').flatMap((part) => {
    const m = /^(\w+)((?:\[\d+\])*)$/.exec(part);
    if (!m) throw new Error(`bad path ${path}`);
    return [names === 'proto' ? camel(m[1]!) : m[1]!, ...[...m[2]!.matchAll(/\[(\d+)\]/g)].map((x) => Number(x[1]))];
  });
  let node: Record<string | number, unknown> = target;
  steps.forEach((step, i) => {
    if (i === steps.length - 1) {
      if (value === undefined) delete node[step];
      else node[step] = value;
      return;
    }
    const next = steps[i + 1];
    node[step] ??= typeof next === 'number' ? [] : {};
    node = node[step] as Record<string | number, unknown>;
  });
}

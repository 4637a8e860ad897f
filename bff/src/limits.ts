import { EnvelopArmor } from '@escape.tech/graphql-armor';
import type { GraphQLArmorRejectCallback } from '@escape.tech/graphql-armor-types';
import { GraphQLError, NoSchemaIntrospectionCustomRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * What one GraphQL document may ask for (DESIGN.md, "Security model": every public input is
 * bounded). Checked while the document is parsed and validated, so that an oversized
 * request is refused before any resolver (and any wait in a service) runs: 300 aliases of
 * `cart(minVersion: …)` once held 300 read-model waits open for one request.
 *
 * The values leave room above what this API's clients send (tests/e2e, bench): at most a
 * handful of aliases, depth 5 (`orderStatusChanged { order { lines { product { name } } } }`),
 * about 60 tokens, and cost 7,625 for the costliest (a page of orders with every order
 * field, tests/e2e/src/shop.ts: armor's cost ignores `first`, it counts the fields asked).
 */
export const graphqlLimits = {
  /** Aliased fields per operation (a batch of reads in one request is fine; hundreds are not). */
  maxAliases: 15,
  /** Nesting of selections (introspection excepted: its query nests `ofType` a dozen times). */
  maxDepth: 7,
  /**
   * Lexer tokens per document; the parser stops counting here, before building a huge tree.
   * graphql-js's full introspection query is about 200.
   */
  maxTokens: 1_000,
  /** Directives (`@include`, `@skip`) per operation. */
  maxDirectives: 20,
  /** graphql-armor's static cost (objects 2, scalars 1, ×1.5 per level); tokens bound it too. */
  maxCost: 20_000,
};
export type GraphQLLimits = typeof graphqlLimits;

/**
 * Every refusal with a code a client can act on, like graphql-js's own validation errors
 * (errors.ts), and the limit in the message so that an honest client learns it. The
 * rules report into the validation context rather than throw, so that yoga answers them
 * as validation errors (HTTP 400), not as a crash.
 */
const reportAsValidationError: GraphQLArmorRejectCallback = (ctx, error) => {
  ctx?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, ''), { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }));
};
const rejected = { propagateOnRejection: false, onReject: [reportAsValidationError] };

/** yoga plugins: graphql-armor's limits, field suggestions off, and introspection only when configured. */
export function limitPlugins(opts: { introspection: boolean; limits?: Partial<GraphQLLimits> }): Plugin[] {
  const limits = { ...graphqlLimits, ...opts.limits };
  const armor = new EnvelopArmor({
    // "Did you mean …" would list the schema's fields to a client that may not introspect it.
    blockFieldSuggestion: { enabled: true },
    maxAliases: { n: limits.maxAliases, ...rejected },
    maxDepth: { n: limits.maxDepth, ignoreIntrospection: true, flattenFragments: true, ...rejected },
    // Counted by the parser, before any validation context exists: it throws a syntax error.
    maxTokens: { n: limits.maxTokens },
    maxDirectives: { n: limits.maxDirectives, ...rejected },
    costLimit: { maxCost: limits.maxCost, ignoreIntrospection: true, ...rejected },
  });
  const plugins: Plugin[] = armor.protect().plugins as Plugin[];
  if (!opts.introspection) {
    plugins.push({ onValidate: ({ addValidationRule }) => addValidationRule(NoSchemaIntrospectionCustomRule) });
  }
  return plugins;
}

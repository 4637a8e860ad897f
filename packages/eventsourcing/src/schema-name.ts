/** Schema and table names are interpolated into SQL: only plain lower-case identifiers pass. */
const identifier = /^[a-z_][a-z0-9_]*$/;

export function checkSchemaName(schema: string): string {
  if (!identifier.test(schema)) throw new Error(`invalid schema name ${schema}`);
  return schema;
}

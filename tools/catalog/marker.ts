/** The command that writes every file generated from the catalog (tools/catalog/generate.ts). */
export const generateCommand = 'npm run generate:deploy';

/** The first line of every generated file; the generator recognises a stale one by it. */
export const generatedMarker = '# GENERATED from the process catalog (tools/catalog) — do not edit by hand.';

/** The header of a generated YAML file. */
export const generatedHeader = (what: string) => `${generatedMarker}\n# ${what}\n# Regenerate with: ${generateCommand}\n`;

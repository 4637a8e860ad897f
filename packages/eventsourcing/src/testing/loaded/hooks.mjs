// Module resolution hook (runs on the loader thread): appends each resolved URL to RECORD_RESOLUTIONS.
import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (process.env.RECORD_RESOLUTIONS) appendFileSync(process.env.RECORD_RESOLUTIONS, `${resolved.url}\n`);
  return resolved;
}

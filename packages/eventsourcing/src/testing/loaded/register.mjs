// `node --import <this>`: records every module the process resolves (ESM resolve hook,
// which also sees the ESM imports of CommonJS packages such as pg and kafkajs) to the file
// named by RECORD_RESOLUTIONS, one URL a line. Used by core-drivers.unit.spec.ts.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);

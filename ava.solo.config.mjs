// Tests that need the stack to themselves run after the main suite, one file at a time
// (tools/bin/test): the crash tests kill -9 and restart its processes, and the concurrency
// test's burst must not share two cores with every other test's. The packages' solo tests
// crash a private Postgres under a running pipeline (slow, and heavy on two cores). The
// Debezium relay's spec (a Kafka Connect JVM) and the build's (every entry point started from
// compiled JavaScript) do not need the stack to themselves, but are as heavy: beside the main
// suite they starved its timing-bound waits (three such failures in one fresh-clone run).
import { readFileSync } from 'node:fs';

const base = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')).ava;

export default {
  ...base,
  files: ['tests/**/*.solo.spec.ts', 'packages/*/src/**/*.solo.spec.ts'],
  concurrency: 1,
  timeout: '5m',
};

import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Paths that must never reach a log line, whatever logs them: request bodies of
 * authentication calls, headers, tokens.
 */
const redact = [
  'password',
  '*.password',
  '*.currentPassword',
  '*.newPassword',
  '*.passwordHash',
  'token',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  '*["x-api-key"]',
  '*.headers["x-api-token"]',
  '*["x-api-token"]',
];

/** A JSON logger (one object per line on stdout) with the process's name on every line. */
export function createLogger(service: string, level = 'info'): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: redact, censor: '[redacted]' },
  });
}

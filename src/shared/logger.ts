import pino, { type Logger } from 'pino';
import { LogDestination } from './log-destination.js';
import { redactDeep, type Redactor } from './redact.js';

export type { Logger };

/**
 * Structured JSON logs; every value passes the secret redactor before it is written. The file is
 * written in the background and can never block the process (log-destination.ts).
 */
export function createLogger(options: { level: string; file?: string | undefined; redact: Redactor; instance?: string }): Logger {
  const destination = options.file && options.file !== '-' ? LogDestination.toFile(options.file) : LogDestination.toStderr();
  return pino(
    {
      level: options.level,
      base: { service: 'ipaas-openai', ...(options.instance ? { instance: options.instance } : {}) },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Levels as words ("warn"), not pino's numbers: people and log shippers read them.
      formatters: { level: (label) => ({ level: label }), log: (obj) => redactDeep(obj, options.redact) },
      hooks: {
        logMethod(args, method) {
          const clean = args.map((a) => (typeof a === 'string' ? options.redact(a) : a));
          return method.apply(this, clean as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

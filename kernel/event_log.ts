/**
 * The one logging port: structured fields, then a message. Use cases, adapters and the boot shell
 * log through it; the runtime's pino logger and a request's logger both fit it.
 */
export interface EventLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

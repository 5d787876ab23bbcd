import postgres from "postgres";
import type { StoreFailure } from "@stockroom/runtime/store_guard";

/** The server-side limit on every statement, below the guard's client-side deadline. */
export const STATEMENT_TIMEOUT_MS = 4000;

// SQLSTATE classes and codes after which the statement was certainly not applied: 08 connection
// exception, 53 insufficient resources, 57014 query_canceled (statement_timeout), 57P01–57P03
// (the server shut down or cannot connect now: the transaction was rolled back).
const REFUSED_CLASSES = new Set(["08", "53"]);
const REFUSED_CODES = new Set(["57014", "57P01", "57P02", "57P03"]);
// postgres.js's own codes for a connection that never carried the statement.
const NOT_CONNECTED = new Set(["CONNECT_TIMEOUT", "ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH"]);

/**
 * What a postgres.js error says about the statement (see `guardStore`): `refused` when PostgreSQL
 * could not be reached or aborted it, `in_doubt` when the connection broke after it was sent,
 * `other` when PostgreSQL rejected the statement itself (a constraint, a bug: it passes through).
 */
export function postgresFailure(err: unknown): StoreFailure {
  if (err instanceof postgres.PostgresError) {
    return REFUSED_CLASSES.has(err.code.slice(0, 2)) || REFUSED_CODES.has(err.code)
      ? "refused"
      : "other";
  }
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== "string") return "other";
  if (NOT_CONNECTED.has(code)) return "refused";
  // CONNECTION_CLOSED, CONNECTION_ENDED, CONNECTION_DESTROYED, ECONNRESET, EPIPE, …
  return code.startsWith("CONNECTION_") || /^E[A-Z]+$/.test(code) ? "in_doubt" : "other";
}

import {
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerClosedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from "mongodb";
import type { StoreFailure } from "@stockroom/runtime/store_guard";

/** MongoDB's MaxTimeMSExpired: the server aborted the operation at its time limit. */
const MAX_TIME_MS_EXPIRED = 50;

/** The server-side limit every operation carries, below the guard's client-side deadline. */
export const MAX_TIME_MS = 4000;

/**
 * What a MongoDB driver error says about the operation (see `guardStore`):
 * - `refused`: nothing was applied. No server could be selected or connected to, the pool was
 *   cleared before the operation got a connection, or the server aborted it at `maxTimeMS`.
 * - `in_doubt`: it was sent and the connection broke or timed out before an answer, or the server
 *   gave up on it midway without saying what it had done: FerretDB v1.24.2 bounds `findAndModify`
 *   by `maxTimeMS` with a Go context and reports the expiry as an internal error ("context deadline
 *   exceeded", not MaxTimeMSExpired), possibly after its read and during its write.
 * - `other`: the server answered with an error about the operation itself.
 */
export function mongoFailure(err: unknown): StoreFailure {
  if (
    err instanceof MongoServerSelectionError || err instanceof MongoNotConnectedError ||
    err instanceof MongoTopologyClosedError || err instanceof MongoServerClosedError ||
    (err instanceof Error && err.name === "MongoPoolClearedError")
  ) {
    return "refused";
  }
  if (err instanceof MongoServerError && err.code === MAX_TIME_MS_EXPIRED) return "refused";
  if (err instanceof MongoServerError && /context (deadline exceeded|canceled)/.test(err.message)) {
    return "in_doubt";
  }
  if (err instanceof MongoNetworkError || err instanceof MongoOperationTimeoutError) {
    return "in_doubt";
  }
  // Socket errors surfacing from the driver's connections (EPIPE, ECONNRESET, …).
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return "in_doubt";
  return "other";
}

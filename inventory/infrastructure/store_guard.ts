import {
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerClosedError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from "mongodb";
import { DeadlineGroup, DependencyUnavailableError, DomainError } from "@stockroom/kernel";

const UNAVAILABLE = [
  MongoNetworkError, // includes MongoNetworkTimeoutError and the pool-cleared error
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerClosedError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
];

/** Whether `err` says the store could not be reached, rather than that a statement was wrong. */
export function isUnreachable(err: unknown): boolean {
  if (err instanceof DOMException && err.name === "TimeoutError") return true;
  if (UNAVAILABLE.some((type) => err instanceof type)) return true;
  // Socket errors surfacing from the driver's connections (EPIPE, ECONNRESET, …).
  const code = (err as { code?: unknown })?.code;
  return typeof code === "string" && /^E[A-Z]+$/.test(code);
}

/**
 * Wraps every method of a store adapter: each call gets a time limit, and a store that cannot be
 * reached or does not answer in time becomes DependencyUnavailableError (a 503), never a raw driver
 * error (a 500) or a request hanging for the driver's own timeouts. Domain errors and statement
 * errors pass through unchanged.
 */
export function guardStore<T extends object>(store: T, timeoutMs = 5000): T {
  const deadlines = new DeadlineGroup(timeoutMs);
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || property === "close") return value;
      return async (...args: unknown[]) => {
        try {
          return await deadlines.run(
            Promise.resolve(value.apply(target, args)),
            `database ${String(property)}`,
          );
        } catch (err) {
          if (err instanceof DomainError || !isUnreachable(err)) throw err;
          throw new DependencyUnavailableError("database", { cause: err });
        }
      };
    },
  });
}

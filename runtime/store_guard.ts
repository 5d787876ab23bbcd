/**
 * Wraps a store adapter so every call tells the truth about what happened to it:
 * - it waits for admission (`AdmissionGate`); a refusal means nothing was sent (503 `overloaded`);
 * - it is bounded by a client-side deadline, set above the store's own server-side limit
 *   (`maxTimeMS`, `statement_timeout`), so normally the server aborts first and says so;
 * - a driver error is classified by the adapter: `refused` (nothing was applied: the store could
 *   not be reached, or aborted the statement) becomes DependencyUnavailableError (503); `in_doubt`
 *   (sent, no answer) becomes, for a write, OutcomeUnknownError (504) and, for a read, a 503;
 *   anything else (a domain error, a statement the store rejected) passes through unchanged.
 */
import {
  DeadlineGroup,
  DependencyUnavailableError,
  DomainError,
  OutcomeUnknownError,
} from "@stockroom/kernel";
import type { AdmissionGate } from "./admission.ts";

export type StoreFailure = "refused" | "in_doubt" | "other";

export interface StoreGuardOptions<T> {
  /** Names the store in errors, e.g. "database". */
  dependency: string;
  /** Admission for calls that only read, and for calls that write. */
  gates: { read: AdmissionGate; write: AdmissionGate };
  /** The methods that change the store. */
  writes: readonly (keyof T & string)[];
  /**
   * Writes whose answer may exist already (a retry of a change applied under its key), each with
   * the read that finds it and `when` it may (the call's arguments say): when the write gate would
   * refuse the write, the read is asked first, through the read gate, and an answer other than
   * null is given without the write. So a replay is never refused for the writes queued around
   * it, and a write that can queue pays no extra read (on P3k, keyed purchases of one product,
   * asking the read whenever writes were queued cost two more store reads a purchase).
   */
  answeredByRead?: Partial<
    Record<keyof T & string, { read: keyof T & string; when: (...args: never[]) => boolean }>
  >;
  /** Methods that bypass admission (a readiness probe must answer under overload: it is not an outage). */
  ungated?: readonly (keyof T & string)[];
  /** Client-side bound on one admitted call. */
  timeoutMs: number;
  /** What a driver error says about the call. A client-side timeout is always `in_doubt`. */
  classify: (err: unknown) => StoreFailure;
  /** How a client settles a write whose outcome is unknown (the 504's advice). */
  settle: string;
}

export function guardStore<T extends object>(store: T, options: StoreGuardOptions<T>): T {
  const deadlines = new DeadlineGroup(options.timeoutMs, `${options.dependency} call`);
  const writes = new Set<string>(options.writes);
  const ungated = new Set<string>(options.ungated ?? []);
  const failure = (err: unknown, write: boolean): unknown => {
    if (err instanceof DomainError) return err;
    const kind = err instanceof DOMException && err.name === "TimeoutError"
      ? "in_doubt"
      : options.classify(err);
    if (kind === "other") return err;
    if (kind === "in_doubt" && write) {
      return new OutcomeUnknownError(options.dependency, options.settle, { cause: err });
    }
    return new DependencyUnavailableError(options.dependency, { cause: err });
  };
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || property === "close") return value;
      const name = String(property);
      const write = writes.has(name);
      const gate = ungated.has(name) ? undefined : write ? options.gates.write : options.gates.read;
      const call = (args: unknown[]) =>
        deadlines.run(Promise.resolve(value.apply(target, args)), `${options.dependency} ${name}`);
      const reader = options.answeredByRead?.[name as keyof T & string];
      return async (...args: unknown[]) => {
        if (
          reader !== undefined && gate !== undefined && gate.full &&
          (reader.when as (...a: unknown[]) => boolean)(...args)
        ) {
          const read = (receiver as Record<string, (...a: unknown[]) => Promise<unknown>>)[
            reader.read
          ]!;
          const answer = await read(...args);
          if (answer !== null) return answer;
        }
        try {
          return await (gate ? gate.run(() => call(args)) : call(args));
        } catch (err) {
          throw failure(err, write);
        }
      };
    },
  });
}

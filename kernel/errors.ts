/**
 * What went wrong, in domain terms; the HTTP layer maps each kind to a status. Plain TypeScript so
 * domain code can throw it without importing any framework.
 * - `unavailable` and `overloaded`: nothing was applied; try again later (503, `Retry-After`).
 * - `outcome_unknown`: a write was sent and its outcome could not be learned (504).
 */
export type DomainErrorKind =
  | "not_found"
  | "conflict"
  | "invalid"
  | "precondition_failed"
  | "unavailable"
  | "overloaded"
  | "outcome_unknown";

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    readonly code: string,
    message: string,
    readonly meta?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * A store or service the use case depends on did not answer, and nothing was applied; the HTTP
 * layer answers 503.
 */
export class DependencyUnavailableError extends DomainError {
  constructor(dependency: string, options: { cause?: unknown } = {}) {
    super(
      "unavailable",
      `${dependency.replaceAll(" ", "_")}_unavailable`,
      `The ${dependency} is unavailable`,
    );
    if (options.cause !== undefined) this.cause = options.cause;
  }
}

/**
 * Admission control refused the work before anything was sent to the store: the instance is at
 * its limit. Nothing was applied; the HTTP layer answers 503 with `Retry-After`.
 */
export class OverloadedError extends DomainError {
  constructor(dependency: string) {
    super(
      "overloaded",
      "overloaded",
      `Too many requests are waiting for the ${dependency}; nothing was applied, retry shortly`,
    );
  }
}

/**
 * A write was sent and no answer came back in time (or the connection broke): it may or may not
 * have been applied. The HTTP layer answers 504; `retry` says how a client settles it.
 */
export class OutcomeUnknownError extends DomainError {
  constructor(dependency: string, retry: string, options: { cause?: unknown } = {}) {
    super(
      "outcome_unknown",
      "outcome_unknown",
      `The ${dependency} did not confirm the change, so it may or may not have been applied; ${retry}`,
    );
    if (options.cause !== undefined) this.cause = options.cause;
  }
}

/**
 * What went wrong, in domain terms; the HTTP layer maps each kind to a status. Plain TypeScript so
 * domain code can throw it without importing any framework.
 */
export type DomainErrorKind = "not_found" | "conflict" | "invalid" | "unavailable";

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

/** A store or service the use case depends on did not answer; the HTTP layer answers 503. */
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

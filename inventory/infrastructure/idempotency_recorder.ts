import type { EventLog } from "@stockroom/kernel";
import type { IdempotencyStore, KeyedAnswer } from "../domain/ports.ts";

export interface IdempotencyRecorderOptions {
  /** Answers kept this long (24 h). */
  ttlMs: number;
  /** How long an answer waits for others to share its write. */
  delayMs?: number;
  /** Answers that start a write at once. */
  batch?: number;
  /** Where a failed write is reported; the answers it carried were already given. */
  log: EventLog;
}

/**
 * Keeps the answers of keyed requests after they were given, many per write: recording is off the
 * request's path, and under a burst it costs a share of one insert. If a write fails (the store
 * is overloaded or down), nothing is wrong, only slower later: a retry of a change is still
 * answered from the movement the change wrote (the store's own record of the key).
 */
export class IdempotencyRecorder {
  readonly #store: IdempotencyStore;
  readonly #options: IdempotencyRecorderOptions;
  #waiting: KeyedAnswer[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #writes = new Set<Promise<void>>();

  constructor(store: IdempotencyStore, options: IdempotencyRecorderOptions) {
    this.#store = store;
    this.#options = options;
  }

  add(answer: KeyedAnswer): void {
    this.#waiting.push(answer);
    if (this.#waiting.length >= (this.#options.batch ?? 64)) this.#write();
    else this.#timer ??= setTimeout(() => this.#write(), this.#options.delayMs ?? 20);
  }

  /** Writes what waits and waits for every write under way (shutdown, tests). */
  async flush(): Promise<void> {
    this.#write();
    await Promise.all(this.#writes);
  }

  #write(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#waiting.length === 0) return;
    const answers = this.#waiting;
    this.#waiting = [];
    const write = this.#store.record(answers, this.#options.ttlMs).catch((err) => {
      this.#options.log.warn(
        { answers: answers.length, error: String((err as Error)?.message ?? err) },
        "idempotency.record_failed",
      );
    }).finally(() => this.#writes.delete(write));
    this.#writes.add(write);
  }
}

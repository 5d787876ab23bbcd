import type { EventLog } from "@stockroom/kernel";
import type { IdempotencyStore, KeyedAnswer } from "../domain/ports.ts";

export interface IdempotencyRecorderOptions {
  /** Answers kept this long (24 h). */
  ttlMs: number;
  /** How long an answer waits for others to share its write. */
  delayMs?: number;
  /** Answers that start a write at once. */
  batch?: number;
  /** The first pause before a failed write is tried again (doubling each time). */
  retryMs?: number;
  /** Where a failed write is reported; the answers it carried were already given. */
  log: EventLog;
}

/**
 * Keeps the answers of keyed requests after they were given, many per write: recording is off the
 * request's path, and under a burst it costs a share of one insert. A write that fails (the store
 * is overloaded, so the write was refused, or down) is tried again after a growing pause, up to
 * six times in about three seconds: a burst refuses it exactly when its keys' retries are about
 * to come. If it never lands, nothing is wrong, only slower later: a retry of a change is still
 * answered from the movement the change wrote (the store's own record of the key).
 */
const RECORD_ATTEMPTS = 6;

export class IdempotencyRecorder {
  readonly #store: IdempotencyStore;
  readonly #options: IdempotencyRecorderOptions;
  #waiting: KeyedAnswer[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #writes = new Set<Promise<void>>();
  /** Set by flush(): retries no longer pause (shutdown). */
  #flushing = false;

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
    this.#flushing = true;
    this.#write();
    await Promise.all(this.#writes);
  }

  #write(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#waiting.length === 0) return;
    const answers = this.#waiting;
    this.#waiting = [];
    const write = this.#send(answers).finally(() => this.#writes.delete(write));
    this.#writes.add(write);
  }

  async #send(answers: KeyedAnswer[]): Promise<void> {
    for (let attempt = 1;; attempt++) {
      try {
        return await this.#store.record(answers, this.#options.ttlMs);
      } catch (err) {
        if (attempt >= RECORD_ATTEMPTS) {
          this.#options.log.warn(
            {
              answers: answers.length,
              attempts: attempt,
              error: String((err as Error)?.message ?? err),
            },
            "idempotency.record_failed",
          );
          return;
        }
        // Recording keeps a key's first answer, so a write that did land is harmless to repeat.
        if (!this.#flushing) {
          await new Promise((resolve) =>
            setTimeout(resolve, (this.#options.retryMs ?? 100) * 2 ** (attempt - 1))
          );
        }
      }
    }
  }
}

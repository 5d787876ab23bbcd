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
 * request's path, and under a burst it costs a share of one insert. One write is under way at a
 * time; answers given meanwhile wait and go together in the next, so a store slowed by a burst
 * gets fewer, larger writes, not a queue of small ones competing with the purchases. A write that
 * fails (the store is overloaded, so the write was refused, or down) is tried again after a
 * growing pause, up to six times in about three seconds: a burst refuses it exactly when its keys'
 * retries are about to come. If it never lands, nothing is wrong, only slower later: a retry of a
 * change is still answered from the movement the change wrote (the store's own record of the key).
 */
const RECORD_ATTEMPTS = 6;
/**
 * Answers that may wait while a write is stuck (a store down for minutes): beyond it the oldest
 * are let go (each about 300 bytes; their retries are answered from the movements).
 */
const MAX_WAITING = 10_000;

export class IdempotencyRecorder {
  readonly #store: IdempotencyStore;
  readonly #options: IdempotencyRecorderOptions;
  #waiting: KeyedAnswer[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The write under way, and how many answers it carries. */
  #writing: Promise<void> | undefined;
  #writingCount = 0;
  /** Answers let go since the last write began (more than MAX_WAITING waited). */
  #letGo = 0;
  /** Set by flush(): retries no longer pause, and waiting answers go at once (shutdown). */
  #flushing = false;

  constructor(store: IdempotencyStore, options: IdempotencyRecorderOptions) {
    this.#store = store;
    this.#options = options;
  }

  add(answer: KeyedAnswer): void {
    if (this.#waiting.length >= MAX_WAITING) {
      this.#waiting.shift();
      this.#letGo++;
    }
    this.#waiting.push(answer);
    if (this.#writing) return; // It goes with the next write, when this one ends.
    if (this.#waiting.length >= (this.#options.batch ?? 64)) this.#write();
    else this.#timer ??= setTimeout(() => this.#write(), this.#options.delayMs ?? 20);
  }

  /**
   * Writes what waits and waits for the writes (shutdown, tests), at most `withinMs`: shutdown has
   * a deadline, and an answer not kept costs nothing but a slower retry. Resolves with how many
   * answers were still unwritten when it stopped waiting (0: all kept, or given up on and said so).
   */
  async flush(withinMs = Infinity): Promise<number> {
    this.#flushing = true;
    this.#write();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = await Promise.race([
      this.#settled().then(() => true),
      new Promise<boolean>((resolve) => {
        if (Number.isFinite(withinMs)) timer = setTimeout(() => resolve(false), withinMs);
      }),
    ]);
    clearTimeout(timer);
    if (done) return 0;
    const unkept = this.#writingCount + this.#waiting.length;
    this.#options.log.warn({ answers: unkept, within_ms: withinMs }, "idempotency.flush_cut");
    return unkept;
  }

  async #settled(): Promise<void> {
    // A write that ends starts the next at once when answers wait, so wait until none is left.
    while (this.#writing) await this.#writing;
  }

  #write(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#writing || this.#waiting.length === 0) return;
    if (this.#letGo > 0) {
      this.#options.log.warn({ answers: this.#letGo }, "idempotency.record_let_go");
      this.#letGo = 0;
    }
    const answers = this.#waiting;
    this.#waiting = [];
    this.#writingCount = answers.length;
    this.#writing = this.#send(answers).finally(() => {
      this.#writing = undefined;
      this.#writingCount = 0;
      // Those that waited meanwhile have waited long enough: together, now.
      this.#write();
    });
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

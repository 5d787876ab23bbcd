import type { EventLog } from "@stockroom/kernel";

export interface SweeperOptions {
  /** One round: settles what is due, returns how many it settled. */
  sweep: () => Promise<number>;
  /** Pause between rounds; a round that settled a full batch is followed at once. */
  intervalMs: number;
  /** A full batch: the round after it starts at once. */
  batch: number;
  log: EventLog;
}

/**
 * Runs the reservation sweeper in the background: one round at a time, never overlapping, and
 * stopped cleanly (stop() waits for the round under way). Safe on any number of instances: each
 * round takes a reservation's lease in the store before it changes anything.
 */
export class Sweeper {
  readonly #options: SweeperOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #round: Promise<void> | undefined;
  #stopped = false;

  constructor(options: SweeperOptions) {
    this.#options = options;
  }

  start(): this {
    this.#schedule(this.#options.intervalMs);
    return this;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#round;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#round = this.#run();
    }, ms);
  }

  async #run(): Promise<void> {
    let settled = 0;
    try {
      settled = await this.#options.sweep();
    } catch (err) {
      // A store that is down now is tried again next round; the reservations wait in the store.
      this.#options.log.warn(
        { error: String((err as Error)?.message ?? err) },
        "reservation.sweep_round_failed",
      );
    }
    this.#schedule(settled >= this.#options.batch ? 0 : this.#options.intervalMs);
  }
}

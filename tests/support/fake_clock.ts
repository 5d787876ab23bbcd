import type { Clock } from "@stockroom/kernel";

/** A clock that moves only when told to: tests advance time instead of sleeping. */
export class FakeClock implements Clock {
  #ms: number;

  constructor(start: Date | string = "2026-01-01T00:00:00.000Z") {
    this.#ms = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.#ms);
  }

  advance(ms: number): void {
    this.#ms += ms;
  }
}

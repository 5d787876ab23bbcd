/**
 * Admission control in front of a store: at most `limit` calls in flight per instance, a bounded
 * FIFO queue, and a wait bound. A call that cannot start in time is refused with OverloadedError
 * before anything is sent, so the refusal (a 503 with `Retry-After`) is the truth: nothing was
 * applied. Admitted calls meet a store working at its own pace instead of an unbounded pile, so
 * they finish well inside their deadlines; without this, a burst queued thousands of calls at the
 * store, most deadlines fired together and writes already sent still landed after a 503.
 *
 * The queue adapts to the store's pace: a call joins it only if it can expect a slot within the
 * wait bound. The gate keeps a moving average of how long admitted calls take, so the call at
 * position p of the queue expects to wait p × average / limit; one that could not start in time is
 * refused at once rather than after waiting for nothing. `queue` stays a hard cap (and the only
 * bound until four calls per slot have finished). In the flash-sale case this took the queue from its
 * cap of 512 to the ~100 calls one instance serves in a second: four in five queued writes used
 * to be read, parsed and held for the whole second only to be refused.
 *
 * The in-flight limit is configured, not adaptive: each store here has a known best concurrency
 * (its connection pool; FerretDB applies writes one at a time), which is what the Google SRE
 * book's "Handling Overload" asks a server to respect. An adaptive limit (Netflix
 * concurrency-limits, Envoy's filter) would tune `limit` from the same latency samples.
 */
import { OverloadedError } from "@stockroom/kernel";

export type AdmissionEvent = "admitted" | "queued" | "shed";

/** Weight of the newest call in the moving average of call durations. */
const SMOOTHING = 0.2;
/**
 * Calls per slot to finish before the average is trusted: the first calls of a process pay for
 * connections and compilation (hundreds of ms), and a queue sized from them refused a race of 500
 * purchases that the store then served in two seconds.
 */
const WARM_UP_CALLS_PER_SLOT = 4;

export interface AdmissionGateOptions {
  /** Names the store in errors, e.g. "database". */
  dependency: string;
  /** Calls allowed in flight at once. */
  limit: number;
  /** Most calls allowed to wait for a slot; past it, a new call is refused at once. */
  queue: number;
  /** How long a call may wait for a slot before it is refused. */
  maxWaitMs: number;
  /** Told of every call: admitted at once or after waiting ("queued" first), or shed. */
  onEvent?: (event: AdmissionEvent) => void;
  /** Monotonic milliseconds (tests pass their own). */
  now?: () => number;
}

interface Waiter {
  deadline: number;
  admit: () => void;
  refuse: (err: Error) => void;
}

export class AdmissionGate {
  readonly #options: AdmissionGateOptions;
  readonly #now: () => number;
  #inFlight = 0;
  /** FIFO of waiters; `#head` indexes the oldest, so taking one is O(1). */
  #waiting: Waiter[] = [];
  #head = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Moving average of admitted calls' durations (ms); 0 until one has finished. */
  #callMs = 0;
  #finished = 0;

  constructor(options: AdmissionGateOptions) {
    if (!(options.limit >= 1) || !(options.queue >= 0) || !(options.maxWaitMs >= 0)) {
      throw new RangeError("AdmissionGate needs limit ≥ 1, queue ≥ 0 and maxWaitMs ≥ 0");
    }
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Calls `call` once a slot is free; throws OverloadedError, having called nothing, if none is. */
  async run<T>(call: () => Promise<T>): Promise<T> {
    if (this.#inFlight < this.#options.limit && this.waiting === 0) {
      this.#inFlight++;
      this.#options.onEvent?.("admitted");
    } else {
      await this.#wait();
    }
    const started = this.#now();
    try {
      return await call();
    } finally {
      const took = this.#now() - started;
      this.#callMs = this.#finished++ === 0
        ? took
        : this.#callMs + SMOOTHING * (took - this.#callMs);
      this.#release();
    }
  }

  /**
   * True, counted as shed, when a call now could neither start nor queue. A server asks this
   * before it reads and checks a request's body, so a refusal under a burst costs almost nothing
   * and leaves the CPU to the calls that were admitted (measured in the flash-sale case: each shed
   * PATCH cost ~180 µs on the full path).
   */
  shedIfFull(): boolean {
    if (!this.full) return false;
    this.#options.onEvent?.("shed");
    return true;
  }

  /** Whether a call joining the queue now could expect a slot within the wait bound. */
  #canQueue(): boolean {
    const { queue, limit, maxWaitMs } = this.#options;
    const position = this.waiting + 1;
    if (position > queue) return false;
    if (this.#finished < WARM_UP_CALLS_PER_SLOT * limit) return true;
    return position * this.#callMs / limit <= maxWaitMs;
  }

  /** Moving average of how long an admitted call takes (ms); 0 before the first has finished. */
  get averageCallMs(): number {
    return this.#callMs;
  }

  /** Whether a call now could neither start nor queue (it would be refused); counts nothing. */
  get full(): boolean {
    return this.#inFlight >= this.#options.limit && !this.#canQueue();
  }

  /** Calls in flight now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Calls waiting for a slot now. */
  get waiting(): number {
    return this.#waiting.length - this.#head;
  }

  #wait(): Promise<void> {
    if (!this.#canQueue()) {
      this.#options.onEvent?.("shed");
      return Promise.reject(new OverloadedError(this.#options.dependency));
    }
    this.#options.onEvent?.("queued");
    return new Promise<void>((admit, refuse) => {
      this.#waiting.push({ deadline: this.#now() + this.#options.maxWaitMs, admit, refuse });
      if (this.#timer === undefined) this.#arm();
    });
  }

  #release(): void {
    this.#inFlight--;
    const next = this.#take();
    if (next) {
      this.#inFlight++;
      this.#options.onEvent?.("admitted");
      next.admit();
    }
  }

  #take(): Waiter | undefined {
    if (this.waiting === 0) return undefined;
    const waiter = this.#waiting[this.#head]!;
    this.#waiting[this.#head++] = undefined as unknown as Waiter;
    if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#head);
      this.#head = 0;
    }
    if (this.waiting === 0 && this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    return waiter;
  }

  /** One timer for the oldest waiter: all wait alike, so it always expires first. */
  #arm(): void {
    const oldest = this.#waiting[this.#head];
    if (!oldest) return;
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, oldest.deadline - this.#now()));
  }

  #expire(): void {
    this.#timer = undefined;
    const now = this.#now();
    while (this.waiting > 0 && this.#waiting[this.#head]!.deadline <= now) {
      const waiter = this.#take()!;
      this.#options.onEvent?.("shed");
      waiter.refuse(new OverloadedError(this.#options.dependency));
    }
    if (this.waiting > 0 && this.#timer === undefined) this.#arm();
  }
}

export interface StoreGatesOptions {
  /** Names the store in errors and metrics, e.g. "database". */
  dependency: string;
  /** Calls in flight per gate, or per gate: a store may take far more reads than writes at once. */
  limit: number | { read: number; write: number };
  queue: number;
  maxWaitMs: number;
  /** Counts admissions: `store_admissions_total{store, access, outcome}`, and shows the gates. */
  metrics?: {
    counter(
      name: string,
      help: string,
      labels: string[],
    ): { inc(labels: Record<string, string>): void };
    gauge(
      name: string,
      help: string,
      labels: string[],
      read: () => { labels: Record<string, string>; value: number }[],
    ): void;
  };
}

/**
 * One gate for reads and one for writes in front of a store: a replay, a lookup or a readiness
 * check is a read and never waits behind a queue of writes.
 */
export function storeGates(
  options: StoreGatesOptions,
): { read: AdmissionGate; write: AdmissionGate } {
  const counter = options.metrics?.counter(
    "store_admissions_total",
    "Store calls by access and admission outcome (admitted, queued first, shed)",
    ["store", "access", "outcome"],
  );
  const gate = (access: "read" | "write") =>
    new AdmissionGate({
      dependency: options.dependency,
      limit: typeof options.limit === "number" ? options.limit : options.limit[access],
      queue: options.queue,
      maxWaitMs: options.maxWaitMs,
      onEvent: counter &&
        ((outcome) => counter.inc({ store: options.dependency, access, outcome })),
    });
  const gates = { read: gate("read"), write: gate("write") };
  options.metrics?.gauge(
    "store_calls",
    "Store calls in flight and waiting for admission, now",
    ["store", "access", "state"],
    () =>
      (["read", "write"] as const).flatMap((access) => [
        {
          labels: { store: options.dependency, access, state: "in_flight" },
          value: gates[access].inFlight,
        },
        {
          labels: { store: options.dependency, access, state: "waiting" },
          value: gates[access].waiting,
        },
      ]),
  );
  return gates;
}

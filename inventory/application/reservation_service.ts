/**
 * Carts: the reservation use cases and the sweeper's work. A cart is applied line by line as
 * keyed stock changes (each line's change is recorded with its key in the same atomic write as
 * itself, so it applies at most once however often it is sent), steered by the reservation's own
 * record, which every instance changes only conditionally on the version it read:
 *
 * 1. the record is written first, `pending`, with a lease;
 * 2. each line is held, in product order; a short line stops the cart, and the lines held so far
 *    are given back (undone) before the 409;
 * 3. the record becomes `held`.
 *
 * Whatever an owner leaves behind (a crash, a lost store) the sweeper settles once the lease ran
 * out: a `pending` cart is undone line by line (each line's hold is sent again under its key, so a
 * hold that landed is found and one that did not can no longer land later, and then given back);
 * a commit, release or expiry in motion is finished. A client therefore sees a cart held entirely
 * or not at all; a concurrent reader may see, for a few milliseconds, a line held and then given
 * back, never an oversell.
 */
import type { Clock, EventLog } from "@stockroom/kernel";
import { OutcomeUnknownError } from "@stockroom/kernel";
import {
  IdempotencyKeyReusedError,
  ReservationClosedError,
  ReservationExpiredError,
  ReservationInProgressError,
  ReservationNotFoundError,
  StaleReservationError,
} from "../domain/errors.ts";
import type { ReservationStore, StockRepository } from "../domain/ports.ts";
import {
  type ClosingStatus,
  decideClosing,
  LEASE_MS,
  mergeLines,
  motionOf,
  type Reservation,
  type ReservationLine,
  type ReservationListQuery,
  type ReservationPage,
  type ReservationStatus,
  visibleStatus,
} from "../domain/reservation.ts";
import { CartSteps, MAX_ATTEMPTS, RETRY_SAME_KEY } from "./cart_steps.ts";
import type { RequestContext } from "./inventory_service.ts";

export interface ReservationServiceDeps {
  stock: StockRepository;
  reservations: ReservationStore;
  clock: Clock;
  /** New reservation ids (random UUIDs by default). */
  newId?: () => string;
}

export interface NewCart {
  lines: ReservationLine[];
  ttlSeconds: number;
  reference: string | null;
}

/** A reservation as an answer gives it: `replayed` when a retry found it made already. */
export interface Answered {
  reservation: Reservation;
  replayed: boolean;
}

export class ReservationService {
  readonly #stock: StockRepository;
  readonly #store: ReservationStore;
  readonly #clock: Clock;
  readonly #newId: () => string;
  readonly #steps: CartSteps;

  constructor(deps: ReservationServiceDeps) {
    this.#steps = new CartSteps(deps);
    this.#stock = deps.stock;
    this.#store = deps.reservations;
    this.#clock = deps.clock;
    this.#newId = deps.newId ?? (() => crypto.randomUUID());
  }

  /** Holds every line or none (see the module comment). */
  async create(cart: NewCart, ctx: RequestContext): Promise<Answered> {
    const now = this.#clock.now();
    const lines = mergeLines(cart.lines);
    const id = ctx.op ? await idForKey(ctx.op.key) : this.#newId();
    let reservation: Reservation = {
      id,
      status: "pending",
      lines: lines.map(({ productId, quantity }) => ({ productId, quantity })),
      reference: cart.reference,
      createdAt: now,
      expiresAt: new Date(now.getTime() + cart.ttlSeconds * 1000),
      updatedAt: now,
      version: 1,
      leaseUntil: new Date(now.getTime() + LEASE_MS),
      attempt: 1,
      requestId: ctx.requestId,
      op: ctx.op ?? null,
    };
    if (!await this.#store.insert(reservation)) {
      const found = await this.#retried(reservation, ctx);
      if ("replayed" in found) return found;
      reservation = found.again;
    }

    await this.#steps.hold(reservation, lines, ctx);
    const next = this.#next(reservation, { status: "held", leaseUntil: null });
    let recorded: boolean;
    try {
      recorded = await this.#store.replace(next, reservation.version);
    } catch (err) {
      throw await this.#steps.notRecorded(reservation, ctx, err);
    }
    if (!recorded) {
      // Only the sweeper takes a pending cart from its owner, once the lease ran out: it undoes it.
      throw new OutcomeUnknownError("database", RETRY_SAME_KEY);
    }
    ctx.log.info(
      { reservation_id: id, lines: lines.length, expires_at: next.expiresAt.toISOString() },
      "reservation.held",
    );
    return { reservation: next, replayed: false };
  }

  /** A held or ended reservation; a cart still being applied, or refused, does not exist. */
  async get(id: string): Promise<Reservation> {
    const r = await this.#store.get(id);
    if (r === null || visibleStatus(r, this.#clock.now()) === null) {
      throw new ReservationNotFoundError(id);
    }
    return r;
  }

  /** What a client reads of `r` now. */
  statusOf(r: Reservation): ReservationStatus {
    return visibleStatus(r, this.#clock.now()) ?? "expired";
  }

  list(query: Omit<ReservationListQuery, "now">): Promise<ReservationPage> {
    return this.#store.list({ ...query, now: this.#clock.now() });
  }

  /**
   * Commits or releases a held reservation. Setting the status it has is a no-op; once the end is
   * decided (recorded in the reservation) it is carried out to the last line, by this request or,
   * if it fails, by anyone who looks next (a retry, the sweeper).
   */
  close(
    id: string,
    to: ClosingStatus,
    ctx: RequestContext,
    expectedVersion?: number,
  ): Promise<Reservation> {
    return this.#atVersion(id, expectedVersion, async (r, now) => {
      const decision = decideClosing(r, to, now);
      switch (decision.kind) {
        case "noop":
          return r;
        case "closed":
          throw new ReservationClosedError(id, decision.status);
        case "expired":
          throw new ReservationExpiredError(id);
        case "help":
          return await this.#steps.finish(r, to, ctx);
        case "start": {
          const moving = this.#next(r, {
            status: motionOf(to),
            leaseUntil: new Date(now.getTime() + LEASE_MS),
          });
          if (!await this.#store.replace(moving, r.version)) return undefined;
          return await this.#steps.finish(moving, to, ctx);
        }
      }
    });
  }

  /** Moves the expiry of a held reservation to `ttlSeconds` from now. */
  extend(id: string, ttlSeconds: number, expectedVersion?: number): Promise<Reservation> {
    return this.#atVersion(id, expectedVersion, async (r, now) => {
      held(r, now);
      const next = this.#next(r, { expiresAt: new Date(now.getTime() + ttlSeconds * 1000) });
      return await this.#store.replace(next, r.version) ? next : undefined;
    });
  }

  /** The reservation, if it is (still) held at the expected version: `status: held` changes nothing. */
  stillHeld(id: string, expectedVersion?: number): Promise<Reservation> {
    return this.#atVersion(id, expectedVersion, (r, now) => Promise.resolve(held(r, now)));
  }

  /**
   * Reads the reservation and runs `change` on it, which answers undefined when another instance
   * changed it meanwhile (then it is read again); `If-Match` is checked on every read.
   */
  async #atVersion<T>(
    id: string,
    expectedVersion: number | undefined,
    change: (r: Reservation, now: Date) => Promise<T | undefined>,
  ): Promise<T> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const r = await this.get(id);
      if (expectedVersion !== undefined && r.version !== expectedVersion) {
        throw new StaleReservationError(r.version);
      }
      const done = await change(r, this.#clock.now());
      if (done !== undefined) return done;
    }
    throw new Error(`Reservation ${id} kept changing under ${MAX_ATTEMPTS} attempts`);
  }

  /** The sweeper's round (see CartSteps.sweep). */
  sweep(log: EventLog, limit = 50): Promise<number> {
    return this.#steps.sweep(log, limit);
  }

  /** A keyed create found its reservation: answer it again, or try a cart that was undone again. */
  async #retried(
    mine: Reservation,
    ctx: RequestContext,
  ): Promise<Answered | { again: Reservation }> {
    const found = await this.#store.get(mine.id);
    if (found === null) throw new OutcomeUnknownError("database", RETRY_SAME_KEY);
    if (found.op?.fingerprint !== mine.op?.fingerprint) throw new IdempotencyKeyReusedError();
    if (found.status === "pending") throw new ReservationInProgressError(found.id);
    if (found.status !== "failed") {
      ctx.log.info(
        { reservation_id: found.id, op_key_applied_before: true },
        "reservation.replayed",
      );
      return { reservation: found, replayed: true };
    }
    // Refused or rolled back before: nothing of it is held, so the retry is a new attempt.
    const again: Reservation = {
      ...mine,
      version: found.version + 1,
      attempt: found.attempt + 1,
    };
    if (!await this.#store.replace(again, found.version)) {
      throw new ReservationInProgressError(found.id);
    }
    return { again };
  }

  #next(r: Reservation, change: Partial<Reservation>): Reservation {
    return this.#steps.next(r, change);
  }
}

/** `r` if it reads as held at `now`; otherwise it has ended and cannot change. */
function held(r: Reservation, now: Date): Reservation {
  const seen = visibleStatus(r, now)!;
  if (seen !== "held") throw new ReservationClosedError(r.id, seen);
  return r;
}

/** A keyed cart's id, the same for every retry of the key: a UUID made of the key's SHA-256. */
async function idForKey(key: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`reservation\n${key}`)),
  );
  digest[6] = (digest[6]! & 0x0f) | 0x80; // version 8: custom
  digest[8] = (digest[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = Array.from(digest.subarray(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

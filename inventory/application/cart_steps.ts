/**
 * How a cart's lines change, and the sweeper's round: every line change is a keyed stock change
 * (it applies at most once however often it is sent), so any instance may carry a decided step
 * out, again and again, until it is done (see reservation_service.ts).
 */
import type { Clock, EventLog } from "@stockroom/kernel";
import {
  DependencyUnavailableError,
  OutcomeUnknownError,
  OverloadedError,
} from "@stockroom/kernel";
import type { ChangeResult } from "../domain/adjustment.ts";
import { type CartProblem, CartRefusedError } from "../domain/errors.ts";
import type { ChangeIntent } from "../domain/movement.ts";
import type { ReservationStore, StockRepository } from "../domain/ports.ts";
import {
  dueWork,
  type Ending,
  endingOf,
  endingStep,
  holdStep,
  LEASE_MS,
  leaseAllowsCall,
  lineFingerprint,
  type LineStep,
  motionOf,
  type RequestedLine,
  type Reservation,
  type ReservationLine,
  undoStep,
} from "../domain/reservation.ts";
import type { RequestContext } from "./inventory_service.ts";

/** How often a conditional write of a reservation is tried again after another instance's. */
export const MAX_ATTEMPTS = 8;

export const RETRY_SAME_KEY =
  "retry with the same Idempotency-Key: the cart is held entirely or not at " +
  "all within 30 s";
const RETRY_SAME_REQUEST = "the change is recorded and will be completed; retry the same request " +
  "to see it done";

export class CartSteps {
  readonly #stock: StockRepository;
  readonly #store: ReservationStore;
  readonly #clock: Clock;

  constructor(deps: { stock: StockRepository; reservations: ReservationStore; clock: Clock }) {
    this.#stock = deps.stock;
    this.#store = deps.reservations;
    this.#clock = deps.clock;
  }

  /**
   * The sweeper's round: expires held reservations past their expiry, finishes ends left in
   * motion and undoes carts left pending, each once its lease ran out. Any number of instances
   * may sweep at once: each takes a reservation's lease by a conditional write first. Returns how
   * many it settled.
   */
  async sweep(log: EventLog, limit = 50): Promise<number> {
    const ctx: RequestContext = { requestId: "sweeper", log };
    let settled = 0;
    for (const r of await this.#store.due(this.#clock.now(), limit)) {
      const now = this.#clock.now();
      const work = dueWork(r, now);
      if (work === null) continue;
      const lease = new Date(now.getTime() + LEASE_MS);
      const ending: Ending | null = work === "expire" ? "expired" : endingOf(r.status);
      const taken = this.next(r, {
        ...(work === "expire" ? { status: motionOf("expired") } : {}),
        leaseUntil: lease,
      });
      if (!await this.#store.replace(taken, r.version)) continue;
      try {
        if (ending !== null) {
          await this.finish(taken, ending, ctx);
          ctx.log.info({ reservation_id: r.id, ending }, "reservation.swept");
        } else {
          await this.undo(taken, [], taken.lines, ctx);
          ctx.log.info({ reservation_id: r.id }, "reservation.rolled_back");
        }
        settled++;
      } catch (err) {
        ctx.log.warn(
          { reservation_id: r.id, error: String((err as Error)?.message ?? err) },
          "reservation.sweep_failed",
        );
      }
    }
    return settled;
  }

  /**
   * Holds every line of a pending cart, or none: in one atomic write where the store has one,
   * else line by line, in product order, giving back what it held when a line is short (then
   * CartRefusedError, with every line that is short). If a store call fails, the lines that may
   * be held are given back before the error goes on (or, failing that, by the sweeper).
   */
  async hold(reservation: Reservation, lines: readonly RequestedLine[], ctx: RequestContext) {
    if (this.#stock.applyAll) return await this.#holdAtOnce(reservation, lines, ctx);
    const held: ReservationLine[] = [];
    const problems: CartProblem[] = [];
    for (const [i, line] of lines.entries()) {
      if (problems.length > 0) {
        // The cart fails already: the other lines are only read, to report every short one.
        const record = await this.#stock.get(line.productId);
        if (record === null) problems.push(lineProblem(line, { ok: false, reason: "not_found" }));
        else if (record.quantity < line.quantity) {
          problems.push(
            lineProblem(line, {
              ok: false,
              reason: "insufficient_stock",
              available: record.quantity,
            }),
          );
        }
        continue;
      }
      let result: ChangeResult;
      try {
        if (!leaseAllowsCall(reservation, this.#clock.now())) {
          throw new OutcomeUnknownError("database", RETRY_SAME_KEY);
        }
        result = await this.step(reservation, line, holdStep(reservation, line), ctx);
      } catch (err) {
        // This line's hold may have landed: it is sent again before it is given back.
        throw await this.#givenBack(this.undo(reservation, held, [lines[i]!], ctx), err);
      }
      if (result.ok) held.push(line);
      else problems.push(lineProblem(line, result));
    }
    if (problems.length > 0) {
      await this.undo(reservation, held, [], ctx);
      throw new CartRefusedError(problems);
    }
  }

  async #holdAtOnce(r: Reservation, lines: readonly RequestedLine[], ctx: RequestContext) {
    let batch;
    try {
      batch = await this.#stock.applyAll!(
        lines.map((line) => ({
          productId: line.productId,
          intent: this.#intent(r, line, holdStep(r, line), ctx),
        })),
      );
    } catch (err) {
      throw await this.#givenBack(this.undo(r, [], lines, ctx), err);
    }
    if (batch.applied) return;
    const problems = batch.refusals.map(({ index, result }) => lineProblem(lines[index]!, result));
    // Nothing was written: the cart only needs marking failed.
    await this.undo(r, [], [], ctx);
    throw new CartRefusedError(problems);
  }

  /**
   * A cart whose lines are all held could not be recorded as held: if the store refused the write
   * (nothing applied), the lines are given back now, so its 503 stays true; if the write's outcome
   * is unknown, the record may say held, so nothing is undone here (a pending record is undone by
   * the sweeper once its lease ran out).
   */
  async notRecorded(r: Reservation, ctx: RequestContext, err: unknown): Promise<unknown> {
    if (err instanceof OverloadedError || err instanceof DependencyUnavailableError) {
      return await this.#givenBack(this.undo(r, r.lines, [], ctx), err);
    }
    return err;
  }

  /**
   * The error a failed hold answers with: its own once the lines are given back (nothing is held:
   * a 503 stays true); if they could not be, the sweeper gives them back once the lease ran out,
   * so the client hears that the outcome is not settled yet (504), not that nothing happened.
   */
  async #givenBack(undo: Promise<void>, err: unknown): Promise<unknown> {
    try {
      await undo;
      return err;
    } catch (cause) {
      return err instanceof OutcomeUnknownError
        ? err
        : new OutcomeUnknownError("database", RETRY_SAME_KEY, { cause });
    }
  }

  /**
   * Gives back the lines of a cart that will not be held: `held` are known to be held; `unsure`
   * may be, so each is held again under its key first (found if it landed, and then unable to land
   * later) and given back only if it is held. Then the cart is marked failed.
   */
  async undo(
    r: Reservation,
    held: readonly ReservationLine[],
    unsure: readonly ReservationLine[],
    ctx: RequestContext,
  ): Promise<void> {
    const toGiveBack = [...held];
    for (const line of unsure) {
      const result = await this.step(r, line, holdStep(r, line), ctx);
      if (result.ok) toGiveBack.push(line);
    }
    for (const line of toGiveBack) await this.step(r, line, undoStep(r, line), ctx);
    const failed = this.next(r, { status: "failed", leaseUntil: null });
    if (!await this.#store.replace(failed, r.version)) {
      throw new Error(`Reservation ${r.id} changed while its lines were given back`);
    }
  }

  /** Carries a decided end out to every line, then records it; safe to run by several at once. */
  async finish(r: Reservation, ending: Ending, ctx: RequestContext): Promise<Reservation> {
    try {
      // In one write where the store has one; line by line if that is refused (a deleted record).
      const batch = await this.#stock.applyAll?.(r.lines.map((line) => ({
        productId: line.productId,
        intent: this.#intent(r, line, endingStep(r, line, ending), ctx),
      })));
      for (const line of batch?.applied ? [] : r.lines) {
        const result = await this.step(r, line, endingStep(r, line, ending), ctx);
        // A record deleted meanwhile has nothing left to give back or sell.
        if (!result.ok && result.reason !== "not_found") {
          throw new Error(`Reservation ${r.id} could not ${ending} ${line.productId}`);
        }
      }
      for (let current = r, attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        const done = this.next(current, { status: ending, leaseUntil: null });
        if (await this.#store.replace(done, current.version)) {
          ctx.log.info({ reservation_id: r.id, status: ending }, "reservation.closed");
          return done;
        }
        const now = await this.#store.get(r.id);
        if (now === null || now.status === ending) return now ?? done;
        current = now;
      }
      throw new Error(`Reservation ${r.id} kept changing under ${MAX_ATTEMPTS} attempts`);
    } catch (err) {
      // The end is decided and recorded: whoever looks next finishes it. So the client does not
      // hear "nothing happened"; a retry of the same request answers once it is done.
      if (err instanceof OutcomeUnknownError) throw err;
      throw new OutcomeUnknownError("database", RETRY_SAME_REQUEST, { cause: err });
    }
  }

  step(r: Reservation, line: ReservationLine, step: LineStep, ctx: RequestContext) {
    return this.#stock.apply(line.productId, this.#intent(r, line, step, ctx));
  }

  #intent(
    r: Reservation,
    line: ReservationLine,
    step: LineStep,
    ctx: RequestContext,
  ): ChangeIntent {
    return {
      change: { kind: "adjust", delta: step.delta, reservedDelta: step.reservedDelta },
      reason: step.reason,
      reference: r.reference,
      requestId: ctx.requestId,
      reservationId: r.id,
      at: this.#clock.now(),
      op: { key: step.key, fingerprint: lineFingerprint(step, line) },
    };
  }

  /** `r` changed: the next version, written now. */
  next(r: Reservation, change: Partial<Reservation>): Reservation {
    return { ...r, ...change, version: r.version + 1, updatedAt: this.#clock.now() };
  }
}

/** What a refused hold of `line` tells the client (409 per short line, 422 with no record). */
function lineProblem(
  line: RequestedLine,
  refusal: Exclude<ChangeResult, { ok: true }>,
): CartProblem {
  const { index, productId } = line;
  if (refusal.reason === "not_found") return { index, productId, kind: "no_stock_record" };
  if (refusal.reason === "insufficient_stock") {
    return {
      index,
      productId,
      kind: "short",
      requested: line.quantity,
      available: refusal.available,
    };
  }
  throw new Error(`Unexpected refusal of a reservation line: ${refusal.reason}`);
}

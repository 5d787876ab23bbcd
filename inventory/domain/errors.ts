import { DomainError } from "@stockroom/kernel";
import { MAX_QUANTITY, type StockRecord } from "./stock.ts";

export class StockNotFoundError extends DomainError {
  constructor(productId: string) {
    super("not_found", "stock_not_found", `No inventory record for product ${productId}`);
  }
}

export class StockAlreadyExistsError extends DomainError {
  constructor(productId: string) {
    super("conflict", "stock_exists", `Product ${productId} already has an inventory record`);
  }
}

export class InsufficientStockError extends DomainError {
  constructor(productId: string, readonly available: number, requested: number) {
    super(
      "conflict",
      "insufficient_stock",
      `Product ${productId} has ${available} in stock; ${requested} requested`,
      { available },
    );
  }
}

/** The product named on create does not exist in the catalog. */
export class UnknownProductError extends DomainError {
  constructor(productId: string) {
    super("invalid", "product_not_found", `Product ${productId} does not exist`);
  }
}

/** A restock that would take the stock past MAX_QUANTITY. */
export class QuantityLimitError extends DomainError {
  constructor(productId: string, current: number, delta: number) {
    super(
      "conflict",
      "quantity_limit_exceeded",
      `Product ${productId} has ${current} in stock; adding ${delta} would exceed ${MAX_QUANTITY}`,
      { available: current, max: MAX_QUANTITY },
    );
  }
}

/** `If-Match` named a version the record is no longer at; `current` is the one it is at. */
export class StaleVersionError extends DomainError {
  constructor(readonly current: StockRecord) {
    super(
      "precondition_failed",
      "precondition_failed",
      `The inventory record of ${current.productId} is at version ${current.sequence}`,
    );
  }
}

/** An Idempotency-Key applied before to another request (another body or product). */
export class IdempotencyKeyReusedError extends DomainError {
  constructor() {
    super(
      "invalid",
      "idempotency_key_reused",
      "This Idempotency-Key was used with a different request",
    );
  }
}

export class ReservationNotFoundError extends DomainError {
  constructor(id: string) {
    super("not_found", "reservation_not_found", `No reservation ${id}`);
  }
}

/** A reservation that ended (committed, released or expired) cannot change again. */
export class ReservationClosedError extends DomainError {
  constructor(id: string, status: string) {
    super("conflict", "reservation_closed", `Reservation ${id} is ${status} and cannot change`);
  }
}

export class ReservationExpiredError extends DomainError {
  constructor(id: string) {
    super(
      "conflict",
      "reservation_expired",
      `Reservation ${id} expired before it was committed; its units were returned`,
    );
  }
}

/** Another request with the same Idempotency-Key is still holding this cart's lines. */
export class ReservationInProgressError extends DomainError {
  constructor(id: string) {
    super(
      "conflict",
      "request_in_progress",
      `Reservation ${id} is still being held by a request with the same Idempotency-Key; retry shortly`,
    );
  }
}

/** `If-Match` named a version the reservation is no longer at. */
export class StaleReservationError extends DomainError {
  constructor(readonly version: number) {
    super(
      "precondition_failed",
      "precondition_failed",
      `The reservation is at version ${version}`,
    );
  }
}

/** What a refused cart's lines lacked; `index` is the line's position in the request as sent. */
export type CartProblem =
  | { index: number; productId: string; kind: "short"; requested: number; available: number }
  | { index: number; productId: string; kind: "no_stock_record" };

/** A cart held nothing: some lines were short, or named a product with no stock record. */
export class CartRefusedError extends DomainError {
  constructor(readonly problems: CartProblem[]) {
    // A line naming no stock record is a bad request, whatever else the cart lacked.
    const unknown = problems.some((p) => p.kind === "no_stock_record");
    super(
      unknown ? "invalid" : "conflict",
      unknown ? "stock_not_found" : "insufficient_stock",
      `The cart was not held: ${problems.length} line(s) cannot be held`,
    );
  }
}

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

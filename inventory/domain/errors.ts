import { DomainError } from "@stockroom/shared/domain_error";

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

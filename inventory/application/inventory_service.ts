import type { Clock, EventLog } from "@stockroom/kernel";
import type { ChangeResult } from "../domain/adjustment.ts";
import {
  IdempotencyKeyReusedError,
  InsufficientStockError,
  StaleVersionError,
  StockNotFoundError,
  UnknownProductError,
} from "../domain/errors.ts";
import {
  type AdjustmentReason,
  type ChangeIntent,
  defaultReason,
  type Movement,
  type StockChange,
} from "../domain/movement.ts";
import type { CatalogProduct, ProductCatalog, StockRepository } from "../domain/ports.ts";
import type { StockListQuery, StockPage, StockRecord } from "../domain/stock.ts";

export interface InventoryServiceDeps {
  repository: StockRepository;
  catalog: ProductCatalog;
  clock: Clock;
}

/** What the caller knows about the request: its id travels to the products service and the ledger. */
export interface RequestContext {
  requestId: string;
  log: EventLog;
  /** The request's Idempotency-Key and fingerprint, recorded with the change it makes. */
  op?: { key: string; fingerprint: string };
}

export interface ChangeOptions {
  reason?: AdjustmentReason;
  reference?: string | null;
  /** `If-Match`: apply only while the record is at this version. */
  expectedSequence?: number;
}

export interface StockWithProduct {
  record: StockRecord;
  product?: CatalogProduct | null;
}

/** A record as a change left it; `replayed` when the change was made before, under the same key. */
export interface Changed {
  record: StockRecord;
  replayed: boolean;
}

/** The inventory use cases: checked creation, atomic changes with their ledger, stock events. */
export class InventoryService {
  readonly #repo: StockRepository;
  readonly #catalog: ProductCatalog;
  readonly #clock: Clock;

  constructor(deps: InventoryServiceDeps) {
    this.#repo = deps.repository;
    this.#catalog = deps.catalog;
    this.#clock = deps.clock;
  }

  /** Writes nothing unless the products service confirms the product exists. */
  async create(productId: string, quantity: number, ctx: RequestContext): Promise<Changed> {
    const product = await this.#catalog.find(productId, ctx.requestId);
    if (!product) throw new UnknownProductError(productId);
    const result = await this.#repo.create(
      productId,
      this.#intent({ kind: "set", quantity }, ctx, { reason: "initial" }),
    );
    const changed = this.#outcome(productId, result, ctx);
    if (!changed.replayed) {
      ctx.log.info(
        { product_id: productId, delta: quantity, before: 0, after: quantity, sequence: 1 },
        "inventory.created",
      );
    }
    return changed;
  }

  async get(productId: string, ctx: RequestContext, include = false): Promise<StockWithProduct> {
    const record = await this.#repo.get(productId);
    if (!record) throw new StockNotFoundError(productId);
    return include
      ? { record, product: await this.#catalog.find(productId, ctx.requestId) }
      : { record };
  }

  async list(
    query: StockListQuery,
    ctx: RequestContext,
    include = false,
  ): Promise<StockPage & { products?: (CatalogProduct | null)[] }> {
    const page = await this.#repo.list(query);
    if (!include) return page;
    const products = await Promise.all(
      page.items.map((r) => this.#catalog.find(r.productId, ctx.requestId)),
    );
    return { ...page, products };
  }

  /**
   * One atomic conditional change in the store, with its movement: never below 0, no update lost.
   * With a key, a retry of a change that was applied is answered from its movement and changes
   * nothing, even when the first answer was lost.
   */
  async change(
    productId: string,
    change: StockChange,
    ctx: RequestContext,
    options: ChangeOptions = {},
  ): Promise<Changed> {
    const result = await this.#repo.apply(productId, this.#intent(change, ctx, options));
    if (!result.ok && result.reason === "insufficient_stock") {
      const requested = change.kind === "adjust" ? -change.delta : change.quantity;
      ctx.log.info(
        { product_id: productId, requested, available: result.available },
        "inventory.insufficient_stock",
      );
    }
    const changed = this.#outcome(productId, result, ctx, change);
    if (result.ok && !result.replayed) {
      ctx.log.info({
        product_id: productId,
        delta: result.movement.delta,
        before: result.movement.quantity - result.movement.delta,
        after: result.movement.quantity,
        reason: result.movement.reason,
        sequence: result.movement.sequence,
      }, "inventory.adjusted");
    }
    return changed;
  }

  /** The record's ledger after `after`, oldest first. */
  async movements(productId: string, page: { after: number; limit: number }): Promise<Movement[]> {
    const movements = await this.#repo.movements(productId, page);
    if (movements === null) throw new StockNotFoundError(productId);
    return movements;
  }

  async delete(productId: string, ctx: RequestContext, expectedSequence?: number): Promise<void> {
    const result = await this.#repo.delete(productId, expectedSequence);
    if (!result.ok) {
      if (result.reason === "not_found") throw new StockNotFoundError(productId);
      throw new StaleVersionError(result.current);
    }
    ctx.log.info({ product_id: productId }, "inventory.deleted");
  }

  #intent(
    change: StockChange,
    ctx: RequestContext,
    options: Omit<ChangeOptions, "reason"> & { reason?: ChangeIntent["reason"] },
  ): ChangeIntent {
    return {
      change,
      reason: options.reason ?? defaultReason(change),
      reference: options.reference ?? null,
      requestId: ctx.requestId,
      reservationId: null,
      at: this.#clock.now(),
      ...(ctx.op ? { op: ctx.op } : {}),
      ...(options.expectedSequence !== undefined
        ? { expectedSequence: options.expectedSequence }
        : {}),
    };
  }

  #outcome(productId: string, result: ChangeResult, ctx: RequestContext, change?: StockChange) {
    if (result.ok) {
      if (result.replayed) {
        ctx.log.info(
          {
            product_id: productId,
            sequence: result.movement.sequence,
            op_key_applied_before: true,
          },
          "inventory.replayed",
        );
      }
      return { record: result.record, replayed: result.replayed };
    }
    switch (result.reason) {
      case "not_found":
        throw new StockNotFoundError(productId);
      case "precondition_failed":
        throw new StaleVersionError(result.current);
      case "key_reused":
        throw new IdempotencyKeyReusedError();
      case "insufficient_stock": {
        const requested = change?.kind === "adjust" ? -change.delta : change?.quantity ?? 0;
        throw new InsufficientStockError(productId, result.available, requested);
      }
    }
  }
}

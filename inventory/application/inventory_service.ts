import type { Clock, EventLog } from "@stockroom/kernel";
import type { AdjustResult } from "../domain/adjustment.ts";
import {
  InsufficientStockError,
  StockNotFoundError,
  UnknownProductError,
} from "../domain/errors.ts";
import type { CatalogProduct, ProductCatalog, StockRepository } from "../domain/ports.ts";
import type { StockListQuery, StockPage, StockRecord } from "../domain/stock.ts";

export interface InventoryServiceDeps {
  repository: StockRepository;
  catalog: ProductCatalog;
  clock: Clock;
}

/** What the caller knows about the request: its id travels to the products service. */
export interface RequestContext {
  requestId: string;
  log: EventLog;
}

export type StockChange = { delta: number } | { quantity: number };

export interface StockWithProduct {
  record: StockRecord;
  product?: CatalogProduct | null;
}

/** The inventory use cases: checked creation, atomic adjustments, stock events. */
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
  async create(productId: string, quantity: number, ctx: RequestContext): Promise<StockRecord> {
    const product = await this.#catalog.find(productId, ctx.requestId);
    if (!product) throw new UnknownProductError(productId);
    const record = await this.#repo.create({ productId, quantity, lastUpdated: this.#clock.now() });
    ctx.log.info(
      { product_id: productId, delta: quantity, before: 0, after: quantity },
      "inventory.created",
    );
    return record;
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
   * One atomic conditional update in the store: never below 0, no update lost. With `opKey` (the
   * request's Idempotency-Key) a retry of a change that was applied is recognised by the store and
   * changes nothing, even when the first answer was lost.
   */
  async change(
    productId: string,
    change: StockChange,
    ctx: RequestContext,
    opKey?: string,
  ): Promise<StockRecord> {
    const at = this.#clock.now();
    const result: AdjustResult = "delta" in change
      ? await this.#repo.adjust(productId, change.delta, at, opKey)
      : await this.#repo.set(productId, change.quantity, at, opKey);
    if (!result.ok) {
      if (result.reason === "not_found") throw new StockNotFoundError(productId);
      const requested = "delta" in change ? -change.delta : change.quantity;
      ctx.log.info(
        { product_id: productId, requested, available: result.available },
        "inventory.insufficient_stock",
      );
      throw new InsufficientStockError(productId, result.available, requested);
    }
    if (result.replayed) {
      ctx.log.info({ product_id: productId, op_key_applied_before: true }, "inventory.replayed");
      return result.after;
    }
    ctx.log.info({
      product_id: productId,
      delta: result.after.quantity - result.before.quantity,
      before: result.before.quantity,
      after: result.after.quantity,
    }, "inventory.adjusted");
    return result.after;
  }

  async delete(productId: string, ctx: RequestContext): Promise<void> {
    if (!(await this.#repo.delete(productId))) throw new StockNotFoundError(productId);
    ctx.log.info({ product_id: productId }, "inventory.deleted");
  }
}

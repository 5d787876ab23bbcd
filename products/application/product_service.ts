import type { Clock, EventLog } from "@stockroom/kernel";
import type { ProductRead, ProductRepository } from "../domain/ports.ts";
import {
  type ExpectedVersions,
  type NewProduct,
  type Product,
  ProductAlreadyExistsError,
  type ProductChanges,
  type ProductListQuery,
  ProductNotFoundError,
  type ProductPage,
  ProductPreconditionFailedError,
  VersionMismatch,
} from "../domain/product.ts";

export interface ProductServiceDeps {
  repository: ProductRepository;
  clock: Clock;
  newId: () => string;
}

/** The products use cases. Caching is the repository's business (a decorator), not theirs. */
export class ProductService {
  readonly #repo: ProductRepository;
  readonly #clock: Clock;
  readonly #newId: () => string;

  constructor(deps: ProductServiceDeps) {
    this.#repo = deps.repository;
    this.#clock = deps.clock;
    this.#newId = deps.newId;
  }

  async create(input: NewProduct, log: EventLog): Promise<Product> {
    const id = input.id?.toLowerCase() ?? this.#newId();
    const created = await this.#repo.create({ ...input, id }, this.#now());
    if (!created) throw new ProductAlreadyExistsError(id);
    log.info({ product_id: id }, "product.created");
    return created;
  }

  async get(id: string): Promise<ProductRead> {
    const read = await this.#repo.read(id.toLowerCase());
    if (!read) throw new ProductNotFoundError(id);
    return read;
  }

  list(query: ProductListQuery): Promise<ProductPage> {
    return this.#repo.list(query);
  }

  /**
   * `expected` (the client's `If-Match`): the change applies only while the product is at one of
   * those versions, else ProductPreconditionFailedError and nothing changes. An empty change
   * writes nothing; with `expected`, it is still checked, against the store.
   */
  async update(
    id: string,
    changes: ProductChanges,
    log: EventLog,
    expected?: ExpectedVersions,
  ): Promise<Product> {
    const key = id.toLowerCase();
    const updated = Object.keys(changes).length === 0 && expected === undefined
      ? (await this.#repo.read(key))?.product
      : await this.#repo.update(key, changes, this.#now(), expected);
    if (!updated) throw new ProductNotFoundError(id);
    if (updated instanceof VersionMismatch) {
      throw new ProductPreconditionFailedError(id, updated.currentVersion);
    }
    log.info({ product_id: key, fields: Object.keys(changes) }, "product.updated");
    return updated;
  }

  /** `expected` as for `update()`. */
  async delete(id: string, log: EventLog, expected?: ExpectedVersions): Promise<void> {
    const key = id.toLowerCase();
    const deleted = await this.#repo.delete(key, expected);
    if (deleted instanceof VersionMismatch) {
      throw new ProductPreconditionFailedError(id, deleted.currentVersion);
    }
    if (!deleted) throw new ProductNotFoundError(id);
    log.info({ product_id: key }, "product.deleted");
  }

  #now(): string {
    return this.#clock.now().toISOString();
  }
}

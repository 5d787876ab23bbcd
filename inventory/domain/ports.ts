import type { ChangeResult } from "./adjustment.ts";
import type { IdempotentResponse, StoredKey } from "./idempotency.ts";
import type { ChangeIntent, Movement } from "./movement.ts";
import type { Reservation, ReservationListQuery, ReservationPage } from "./reservation.ts";
import type { StockListQuery, StockPage, StockRecord } from "./stock.ts";

export interface RecordChange {
  productId: string;
  intent: ChangeIntent;
}

/** All applied (each answer in order), or none, with why each refused change was refused. */
export type BatchResult =
  | { applied: true; results: Extract<ChangeResult, { ok: true }>[] }
  | { applied: false; refusals: { index: number; result: Exclude<ChangeResult, { ok: true }> }[] };

export type DeleteResult =
  | { ok: true }
  | { ok: false; reason: "not_found" }
  | { ok: false; reason: "precondition_failed"; current: StockRecord };

export interface StockRepository {
  /**
   * Creates the record and its first movement (`initial`, sequence 1) from `intent` (a `set` of
   * the initial quantity). Throws StockAlreadyExistsError when the product has a record, unless
   * the request's key created it (then the creation is replayed).
   */
  create(productId: string, intent: ChangeIntent): Promise<ChangeResult>;
  get(productId: string): Promise<StockRecord | null>;
  list(query: StockListQuery): Promise<StockPage>;
  /**
   * Applies a change and writes its movement in one atomic step: never below 0 or above
   * MAX_QUANTITY, no update lost under any concurrency, `If-Match` checked in the same write, and
   * a change already applied under the request's key answered from its movement, not applied again.
   */
  apply(productId: string, intent: ChangeIntent): Promise<ChangeResult>;
  /**
   * The answer to a change already applied under the intent's key (from its movement), or null:
   * one read, and none at all without a key. A retry after a lost answer is answered by it.
   */
  replayed(productId: string, intent: ChangeIntent): Promise<ChangeResult | null>;
  /**
   * Optional, for a store that has multi-record atomic writes (Deno KV): applies every change or
   * none, in one write, with the same rules as `apply` for each. A change already applied under
   * its key is answered from its movement and not applied again.
   */
  applyAll?(changes: readonly RecordChange[]): Promise<BatchResult>;
  /** Movements after sequence `after`, ascending, at most `limit`; null when there is no record. */
  movements(productId: string, page: { after: number; limit: number }): Promise<Movement[] | null>;
  /** Deletes the record and its ledger; with `expectedSequence`, only at that version. */
  delete(productId: string, expectedSequence?: number): Promise<DeleteResult>;
  /** Throws when the store cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The answer to a keyed request, to keep. */
export interface KeyedAnswer {
  key: string;
  fingerprint: string;
  response: IdempotentResponse;
}

/** The answers of keyed requests, kept so that a retry gets its answer back in one read. */
export interface IdempotencyStore {
  /** What is stored for `key`, in one read. Expired entries may be returned (`expiresAt`). */
  lookup(key: string): Promise<StoredKey | null>;
  /** Keeps each answer for `ttlMs` from now, unless its key holds a live one already. */
  record(answers: KeyedAnswer[], ttlMs: number): Promise<void>;
}

export interface CatalogProduct {
  id: string;
  /** The products service's resource object, as served, for `include=product`. */
  resource: Record<string, unknown>;
}

export interface ProductCatalog {
  /** null when products answers 404; throws DependencyUnavailableError after the retry budget. */
  find(productId: string, requestId: string): Promise<CatalogProduct | null>;
  /** Throws when the products service does not answer its liveness probe. */
  ping(): Promise<void>;
}

/**
 * Reservation records. Every change is conditional on the version read, so two instances never
 * overwrite each other; the record steers the stock changes of its lines (see reservation.ts).
 */
export interface ReservationStore {
  /** False when a reservation with this id exists already. */
  insert(reservation: Reservation): Promise<boolean>;
  get(id: string): Promise<Reservation | null>;
  /** Stores `next` (version + 1 of the one read) only if the stored one is still at `version`. */
  replace(next: Reservation, version: number): Promise<boolean>;
  list(query: ReservationListQuery): Promise<ReservationPage>;
  /**
   * Up to `limit` reservations the sweeper has work on at `now`: held and past their expiry, or
   * in motion with their lease run out.
   */
  due(now: Date, limit: number): Promise<Reservation[]>;
}

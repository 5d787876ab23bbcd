import { entityTag, type ResourceObject, sparse } from "@stockroom/http";
import type { Movement } from "../domain/movement.ts";
import type { CatalogProduct } from "../domain/ports.ts";
import type { Reservation, ReservationStatus } from "../domain/reservation.ts";
import type { StockRecord } from "../domain/stock.ts";

export interface SerializeOptions {
  baseUrl: string;
  productsServiceUrl: string;
  fields?: readonly string[];
}

/** Attributes listed one by one so nothing else leaks; `product` and `movements` are relationships. */
export function stockResource(record: StockRecord, options: SerializeOptions): ResourceObject {
  const self = `${options.baseUrl}/inventory/${record.productId}`;
  const resource: ResourceObject = {
    type: "inventory",
    id: record.productId,
    attributes: sparse({
      product_id: record.productId,
      quantity: record.quantity,
      reserved: record.reserved,
      last_updated: record.lastUpdated.toISOString(),
    }, options.fields),
    links: { self },
  };
  const relationships: Record<string, unknown> = {};
  const wanted = (name: string) => !options.fields || options.fields.includes(name);
  if (wanted("product")) {
    relationships.product = {
      data: { type: "products", id: record.productId },
      links: { related: `${options.productsServiceUrl}/products/${record.productId}` },
    };
  }
  if (wanted("movements")) relationships.movements = { links: { related: `${self}/movements` } };
  if (Object.keys(relationships).length > 0) resource.relationships = relationships;
  return resource;
}

/**
 * The record's entity tag: its ledger sequence, which every change of state moves on. A partial
 * representation (sparse fields, an included product) has a tag of its own.
 */
export function stockTag(record: StockRecord, variant?: string): string {
  return entityTag(`s${record.sequence}`, variant);
}

/** The movement's own attributes, one by one. */
export function movementResource(movement: Movement): ResourceObject {
  return {
    type: "movements",
    id: `${movement.productId}:${movement.sequence}`,
    attributes: {
      product_id: movement.productId,
      sequence: movement.sequence,
      delta: movement.delta,
      quantity: movement.quantity,
      reserved_delta: movement.reservedDelta,
      reserved: movement.reserved,
      reason: movement.reason,
      reference: movement.reference,
      request_id: movement.requestId,
      idempotency_key: movement.idempotencyKey,
      reservation_id: movement.reservationId,
      occurred_at: movement.occurredAt.toISOString(),
    },
  };
}

/** The products service's own resource objects, for `included`. */
export function includedProducts(
  products: (CatalogProduct | null | undefined)[],
): ResourceObject[] {
  const seen = new Set<string>();
  const included: ResourceObject[] = [];
  for (const product of products) {
    if (!product || seen.has(product.id)) continue;
    seen.add(product.id);
    included.push(product.resource as unknown as ResourceObject);
  }
  return included;
}

/** A reservation as a client reads it: `status` as of now (held past expiry reads expired). */
export function reservationResource(
  r: Reservation,
  status: ReservationStatus,
  baseUrl: string,
): ResourceObject {
  return {
    type: "reservations",
    id: r.id,
    attributes: {
      status,
      lines: r.lines.map((l) => ({ product_id: l.productId, quantity: l.quantity })),
      expires_at: r.expiresAt.toISOString(),
      created_at: r.createdAt.toISOString(),
      reference: r.reference,
    },
    links: { self: `${baseUrl}/reservations/${r.id}` },
  };
}

/** A reservation's entity tag: its record's version, which every change moves on. */
export function reservationTag(r: Pick<Reservation, "version">): string {
  return entityTag(`r${r.version}`);
}

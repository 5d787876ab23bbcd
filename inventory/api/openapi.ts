import { z } from "zod";
import {
  commonOperations,
  type HeaderDoc,
  JSONAPI_MEDIA_TYPE,
  openApiDocument,
  type OperationDoc,
} from "@stockroom/http";
import { MOVEMENT_REASONS } from "../domain/movement.ts";
import { RESERVATION_STATUSES } from "../domain/reservation.ts";
import {
  createReservationAttributes,
  createStockAttributes,
  listReservationsQuery,
  listStockQuery,
  movementsQuery,
  singleStockQuery,
  updateReservationAttributes,
  updateStockAttributes,
} from "./schemas.ts";

const stockOutput = createStockAttributes.extend({
  reserved: z.number().int().min(0),
  last_updated: z.iso.datetime(),
});
const resource = {
  type: "inventory",
  attributes: stockOutput,
  relationships: { product: "products", movements: null },
};
const idempotencyKey = {
  name: "Idempotency-Key",
  description: "Retry-safe writes: the same key and body within 24 h get the first answer again " +
    "(Idempotent-Replayed: true) and change nothing, also after a lost answer or a killed instance " +
    "(the key is recorded with the change itself); the same key with another body is a 422",
};
const replayed: HeaderDoc = {
  name: "Idempotent-Replayed",
  description: "true when this is the answer to an earlier request with the same " +
    "Idempotency-Key (any status below 500 is kept and given again)",
  schema: { type: "string", enum: ["true"] },
};

const nullableString = { type: ["string", "null"] };
/** One movement of the ledger, as `GET /inventory/{product_id}/movements` lists them. */
const movement = {
  type: "object",
  additionalProperties: false,
  required: ["type", "id", "attributes"],
  properties: {
    type: { const: "movements" },
    id: { type: "string", description: "<product_id>:<sequence>" },
    attributes: {
      type: "object",
      additionalProperties: false,
      required: [
        "product_id",
        "sequence",
        "delta",
        "quantity",
        "reserved_delta",
        "reserved",
        "reason",
        "reference",
        "request_id",
        "idempotency_key",
        "reservation_id",
        "occurred_at",
      ],
      properties: {
        product_id: { type: "string", format: "uuid" },
        sequence: { type: "integer", minimum: 1 },
        delta: { type: "integer" },
        quantity: { type: "integer", minimum: 0 },
        reserved_delta: { type: "integer" },
        reserved: { type: "integer", minimum: 0 },
        reason: { enum: [...MOVEMENT_REASONS] },
        reference: { ...nullableString, maxLength: 255 },
        request_id: { type: "string" },
        idempotency_key: nullableString,
        reservation_id: nullableString,
        occurred_at: { type: "string", format: "date-time" },
      },
    },
  },
};
const movementsDocument = {
  type: "object",
  additionalProperties: false,
  required: ["jsonapi", "data", "links"],
  properties: {
    jsonapi: { $ref: "#/components/schemas/JsonApi" },
    data: { type: "array", items: movement },
    links: {
      type: "object",
      additionalProperties: false,
      required: ["self", "next"],
      properties: {
        self: { type: "string", format: "uri" },
        next: { oneOf: [{ type: "string", format: "uri" }, { type: "null" }] },
      },
    },
  },
};

const reservation = {
  type: "reservations",
  attributes: z.object({
    status: z.enum(RESERVATION_STATUSES),
    lines: z.array(z.object({ product_id: z.uuid(), quantity: z.number().int().min(1) })),
    expires_at: z.iso.datetime(),
    created_at: z.iso.datetime(),
    reference: z.string().max(255).nullable(),
  }),
};
const CHECKOUT = "The checkout flow: hold the cart (POST), take payment, then commit it " +
  "(PATCH status committed: the held units are sold) or release it (status released: they " +
  "return to quantity). A hold nobody closes expires at expires_at: it reads expired at once and " +
  "its units return within 5 s, with no request.";

const reservationOperations: OperationDoc[] = [
  {
    method: "post",
    path: "/reservations",
    summary: "Hold a cart: every line or none, until expires_at",
    description: CHECKOUT + " Lines for one product are summed. 409 insufficient_stock has one " +
      "error per short line (source.pointer /data/attributes/lines/{i}/quantity, meta.available); " +
      "422 points at a line whose product has no stock record. Ids are the server's (403 for " +
      "data.id).",
    tag: "reservations",
    body: { type: "reservations", attributes: createReservationAttributes, id: "forbidden" },
    headers: [idempotencyKey],
    responseHeaders: [replayed],
    success: { status: 201, resource: reservation, headers: [etag()] },
    errors: [400, 403, 406, 409, 413, 415, 422, 503, 504],
  },
  {
    method: "get",
    path: "/reservations",
    summary: "List reservations, oldest first: paginated, filter[status], filter[product_id]",
    tag: "reservations",
    query: listReservationsQuery,
    success: { status: 200, resource: { ...reservation, collection: true } },
    errors: [400, 406, 503],
  },
  {
    method: "get",
    path: "/reservations/{id}",
    summary: "Read a reservation (held past expires_at reads expired)",
    tag: "reservations",
    success: { status: 200, resource: reservation },
    errors: [400, 404, 406, 503],
    conditional: "read",
  },
  {
    method: "patch",
    path: "/reservations/{id}",
    summary: "Commit or release a held reservation, or extend it (ttl_seconds)",
    description: CHECKOUT + " Setting the status it has is a no-op 200; leaving committed, " +
      "released or expired is 409 reservation_closed; committing after expires_at is 409 " +
      "reservation_expired. A 504 means the change is recorded and will be completed: send the " +
      "same request again to see it done.",
    tag: "reservations",
    body: { type: "reservations", attributes: updateReservationAttributes, id: "required" },
    headers: [idempotencyKey],
    responseHeaders: [replayed],
    success: { status: 200, resource: reservation },
    errors: [400, 404, 406, 409, 413, 415, 422, 503, 504],
    conditional: "write",
  },
];

export const inventoryOperations: OperationDoc[] = [
  ...commonOperations(),
  {
    method: "post",
    path: "/inventory",
    summary: "Create the stock record of an existing product (its first movement: initial)",
    description: "The product is checked with the products service first; nothing is written " +
      "unless it exists (422 on /data/attributes/product_id otherwise, 503 if it cannot be asked).",
    tag: "inventory",
    body: { type: "inventory", attributes: createStockAttributes, id: "optional" },
    headers: [idempotencyKey],
    responseHeaders: [replayed],
    success: { status: 201, resource, headers: [etag()] },
    errors: [400, 406, 409, 413, 415, 422, 503],
  },
  {
    method: "get",
    path: "/inventory",
    summary: "List stock: paginated, sorted, low-stock filter, include=product",
    tag: "inventory",
    query: listStockQuery,
    success: { status: 200, resource: { ...resource, collection: true } },
    errors: [400, 406, 503],
  },
  {
    method: "get",
    path: "/inventory/{product_id}",
    summary: "Read the stock of a product (include=product for a compound document)",
    description: "The ETag is the record's ledger sequence: every change moves it on.",
    tag: "inventory",
    query: singleStockQuery,
    success: { status: 200, resource },
    errors: [400, 404, 406, 503],
    conditional: "read",
  },
  {
    method: "patch",
    path: "/inventory/{product_id}",
    summary: "Change stock atomically: quantity_delta (purchase/restock) or quantity (a count)",
    description: "409 insufficient_stock (meta.available) when a purchase exceeds the stock. " +
      "`reason` (purchase, restock, return, correction, damage, loss; by default purchase for a " +
      "negative delta, restock for a positive one, correction for a count) and `reference` go to " +
      "the change's movement in the ledger.",
    tag: "inventory",
    body: { type: "inventory", attributes: updateStockAttributes, id: "required" },
    headers: [idempotencyKey],
    responseHeaders: [replayed],
    success: { status: 200, resource },
    errors: [400, 404, 406, 409, 413, 415, 422, 503],
    conditional: "write",
  },
  {
    method: "delete",
    path: "/inventory/{product_id}",
    summary: "Delete the stock record of a product, and its ledger",
    tag: "inventory",
    success: { status: 204 },
    errors: [400, 404, 503],
    conditional: "write",
  },
  {
    method: "get",
    path: "/inventory/{product_id}/movements",
    summary: "The record's ledger: one movement per applied change, oldest first",
    description:
      "Sequences are 1, 2, 3, … with no gap, and the deltas sum to the quantity. Paged " +
      "by cursor: links.next (null at the end) continues after the last movement of the page.",
    tag: "inventory",
    query: movementsQuery,
    success: { status: 200, content: { [JSONAPI_MEDIA_TYPE]: { schema: movementsDocument } } },
    errors: [400, 404, 406, 503],
  },
  ...reservationOperations,
];

function etag(): HeaderDoc {
  return {
    name: "ETag",
    description: "The new resource's entity tag (a record's ledger sequence, a reservation's " +
      "version)",
    required: true,
    schema: { type: "string", pattern: '^"[!#-~]*"$' },
  };
}

export const inventoryOpenApi: Record<string, unknown> = openApiDocument({
  title: "Stockroom inventory",
  version: "1.0.0",
  description: "Stock per product (JSON:API 1.1 resources of type `inventory`), its ledger " +
    "(type `movements`) and carts that hold stock (type `reservations`).",
}, inventoryOperations);

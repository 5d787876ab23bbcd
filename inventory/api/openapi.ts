import { z } from "zod";
import {
  commonOperations,
  type HeaderDoc,
  openApiDocument,
  type OperationDoc,
} from "@stockroom/http";
import {
  createStockAttributes,
  listStockQuery,
  singleStockQuery,
  updateStockAttributes,
} from "./schemas.ts";

const stockOutput = createStockAttributes.extend({ last_updated: z.iso.datetime() });
const resource = {
  type: "inventory",
  attributes: stockOutput,
  relationships: { product: "products" },
};
const idempotencyKey = {
  name: "Idempotency-Key",
  description: "Retry-safe writes: the same key and body within 24 h replay the first answer " +
    "(Idempotent-Replayed: true); the same key with another body is a 422",
};
const replayed: HeaderDoc = {
  name: "Idempotent-Replayed",
  description: "true when this is the stored answer to an earlier request with the same " +
    "Idempotency-Key (any status below 500 is stored and replayed)",
  schema: { type: "string", enum: ["true"] },
};

export const inventoryOperations: OperationDoc[] = [
  ...commonOperations(),
  {
    method: "post",
    path: "/inventory",
    summary: "Create the stock record of an existing product",
    description: "The product is checked with the products service first; nothing is written " +
      "unless it exists (422 on /data/attributes/product_id otherwise, 503 if it cannot be asked).",
    tag: "inventory",
    body: { type: "inventory", attributes: createStockAttributes, id: "optional" },
    headers: [idempotencyKey],
    responseHeaders: [replayed],
    success: { status: 201, resource },
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
    tag: "inventory",
    query: singleStockQuery,
    success: { status: 200, resource },
    errors: [400, 404, 406, 503],
  },
  {
    method: "patch",
    path: "/inventory/{product_id}",
    summary: "Adjust stock atomically: quantity_delta (purchase/restock) or quantity (absolute)",
    description: "409 insufficient_stock (meta.available) when a purchase exceeds the stock.",
    tag: "inventory",
    body: { type: "inventory", attributes: updateStockAttributes, id: "required" },
    headers: [idempotencyKey],
    responseHeaders: [replayed],
    success: { status: 200, resource },
    errors: [400, 404, 406, 409, 413, 415, 422, 503],
  },
  {
    method: "delete",
    path: "/inventory/{product_id}",
    summary: "Delete the stock record of a product",
    tag: "inventory",
    success: { status: 204 },
    errors: [400, 404, 503],
  },
];

export const inventoryOpenApi: Record<string, unknown> = openApiDocument({
  title: "Stockroom inventory",
  version: "1.0.0",
  description: "Stock per product: JSON:API 1.1 resources of type `inventory`.",
}, inventoryOperations);

import { z } from "zod";
import { commonOperations, openApiDocument, type OperationDoc } from "@stockroom/http";
import {
  createProductAttributes,
  listProductsQuery,
  singleProductQuery,
  updateProductAttributes,
} from "./schemas.ts";

/** What a product looks like on the way out: the create schema plus the read-only timestamps. */
const productOutput = createProductAttributes.extend({
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
});

const resource = { type: "products", attributes: productOutput };

export const productOperations: OperationDoc[] = [
  ...commonOperations(),
  {
    method: "post",
    path: "/products",
    summary: "Create a product (server-generated or client-supplied UUID)",
    tag: "products",
    body: { type: "products", attributes: createProductAttributes, id: "optional" },
    success: { status: 201, resource },
    errors: [400, 406, 409, 413, 415, 422, 503],
  },
  {
    method: "get",
    path: "/products",
    summary: "List products: paginated, sorted, filtered",
    tag: "products",
    query: listProductsQuery,
    success: { status: 200, resource: { ...resource, collection: true } },
    errors: [400, 406, 503],
  },
  {
    method: "get",
    path: "/products/{id}",
    summary: "Read a product (read-through cache; X-Cache: HIT or MISS)",
    description: 'The `ETag` is `"v<version>"` for the whole product; a sparse fieldset has ' +
      'its own, `"v<version>-<its fields in document order, joined by .>"` (`-none` for ' +
      "none). `If-None-Match` with the current one answers 304.",
    tag: "products",
    query: singleProductQuery,
    conditional: "read",
    success: {
      status: 200,
      resource,
      headers: [{
        name: "X-Cache",
        description: "HIT when the read-through cache answered, MISS when the database did",
        schema: { type: "string", enum: ["HIT", "MISS"] },
        required: true,
      }],
    },
    errors: [400, 404, 406, 503],
  },
  {
    method: "patch",
    path: "/products/{id}",
    summary: "Change some attributes of a product",
    description: "With `If-Match` (the whole product's `ETag`, or `*`), only while the product " +
      "is at that version: otherwise 412 and nothing changes. Without attributes nothing is " +
      "written (If-Match is still checked). The 200 carries the new `ETag`.",
    tag: "products",
    conditional: "write",
    body: { type: "products", attributes: updateProductAttributes, id: "required" },
    success: { status: 200, resource },
    errors: [400, 404, 406, 409, 413, 415, 422, 503],
  },
  {
    method: "delete",
    path: "/products/{id}",
    summary: "Delete a product",
    description: "With `If-Match` (the whole product's `ETag`, or `*`), only while the product " +
      "is at that version: otherwise 412 and nothing changes.",
    tag: "products",
    conditional: "write",
    success: { status: 204 },
    errors: [400, 404, 503],
  },
];

export const productsOpenApi: Record<string, unknown> = openApiDocument({
  title: "Stockroom products",
  version: "1.0.0",
  description: "The catalog: JSON:API 1.1 resources of type `products`.",
}, productOperations);

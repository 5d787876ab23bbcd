import { Hono } from "hono";
import {
  ApiError,
  type AppEnv,
  collectionDocument,
  jsonApiDocument,
  jsonApiQuery,
  jsonApiResponse,
  methodNotAllowed,
  noQuery,
  requestOrigin,
  resourceDocument,
  uuidParam,
} from "@stockroom/http";
import { isUuid } from "@stockroom/kernel";
import type { ProductService } from "../application/product_service.ts";
import type { ProductSortField } from "../domain/product.ts";
import {
  createProductAttributes,
  listProductsQuery,
  singleProductQuery,
  updateProductAttributes,
} from "./schemas.ts";
import { productDocumentJson, productResource } from "./serializer.ts";

/** A malformed id can name no product: 404 without touching the store. */
function productId(id: string): string {
  return uuidParam(id, { code: "product_not_found", detail: `Product ${id} not found` });
}

export interface ProductRoutesOptions {
  /** Told whether each read by id was served from the cache (for metrics). */
  onCacheResult?: (hit: boolean) => void;
}

export function productRoutes(
  service: ProductService,
  options: ProductRoutesOptions = {},
): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .post(
      "/",
      jsonApiQuery(noQuery),
      jsonApiDocument({ type: "products", attributes: createProductAttributes }),
      async (c) => {
        const input = c.req.valid("json");
        if (input.id !== undefined && !isUuid(input.id)) {
          throw new ApiError(422, {
            code: "invalid_id",
            detail: "A client-supplied id must be a UUID",
            source: { pointer: "/data/id" },
          });
        }
        const product = await service.create(
          { ...input.attributes, id: input.id },
          c.get("logger"),
        );
        const resource = productResource(product, requestOrigin(c.req.url));
        return jsonApiResponse(c, 201, JSON.stringify(resourceDocument(resource)), {
          Location: resource.links!.self,
        });
      },
    )
    .get("/", jsonApiQuery(listProductsQuery), async (c) => {
      const q = c.req.valid("query");
      const { number, size } = q.page;
      const page = await service.list({
        offset: (number - 1) * size,
        limit: size,
        sort: q.sort.map((s) => ({ field: s.field as ProductSortField, descending: s.descending })),
        nameContains: q.filters.name as string | undefined,
        minPrice: q.filters.min_price as number | undefined,
        maxPrice: q.filters.max_price as number | undefined,
      });
      const base = requestOrigin(c.req.url);
      const data = page.items.map((p) => productResource(p, base, q.fields.products));
      return jsonApiResponse(
        c,
        200,
        JSON.stringify(collectionDocument(data, c.req.url, { number, size, total: page.total })),
      );
    })
    .all("/", methodNotAllowed(["GET", "POST"]))
    .get("/:id", jsonApiQuery(singleProductQuery), async (c) => {
      const q = c.req.valid("query");
      const { product, cached } = await service.get(productId(c.req.param("id")));
      options.onCacheResult?.(cached);
      const base = requestOrigin(c.req.url);
      const json = q.fields.products
        ? JSON.stringify(resourceDocument(productResource(product, base, q.fields.products)))
        : productDocumentJson(product, base);
      return jsonApiResponse(c, 200, json, { "X-Cache": cached ? "HIT" : "MISS" });
    })
    .patch(
      "/:id",
      jsonApiQuery(noQuery),
      jsonApiDocument({ type: "products", attributes: updateProductAttributes, idParam: "id" }),
      async (c) => {
        const { attributes } = c.req.valid("json");
        const product = await service.update(
          productId(c.req.param("id")),
          attributes,
          c.get("logger"),
        );
        return jsonApiResponse(
          c,
          200,
          JSON.stringify(resourceDocument(productResource(product, requestOrigin(c.req.url)))),
        );
      },
    )
    .delete("/:id", jsonApiQuery(noQuery), async (c) => {
      await service.delete(productId(c.req.param("id")), c.get("logger"));
      return c.body(null, 204);
    })
    .all("/:id", methodNotAllowed(["GET", "PATCH", "DELETE"]));
}

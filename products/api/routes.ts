import { Hono } from "hono";
import {
  ApiError,
  type AppEnv,
  collectionDocument,
  ifMatch,
  ifNoneMatch,
  jsonApiDocument,
  jsonApiQuery,
  jsonApiResponse,
  methodNotAllowed,
  noQuery,
  notModified,
  preconditionFailed,
  requestOrigin,
  resourceDocument,
  uuidParam,
} from "@stockroom/http";
import { isUuid } from "@stockroom/kernel";
import type { ProductService } from "../application/product_service.ts";
import { ProductPreconditionFailedError, type ProductSortField } from "../domain/product.ts";
import { canonicalFields, expectedVersions, productTag } from "./etag.ts";
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

/** A refused conditional change is a 412 with the product's current tag, to read and retry. */
async function conditionally<T>(change: () => Promise<T>): Promise<T> {
  try {
    return await change();
  } catch (err) {
    if (err instanceof ProductPreconditionFailedError) {
      throw preconditionFailed(productTag(err.currentVersion));
    }
    throw err;
  }
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
      // Parsed before the read: a malformed header is a 400 that asks the store nothing.
      const unchanged = ifNoneMatch(c);
      const { product, cached } = await service.get(productId(c.req.param("id")));
      options.onCacheResult?.(cached);
      const fields = q.fields.products && canonicalFields(q.fields.products);
      const etag = productTag(product.version, fields);
      const xCache = cached ? "HIT" : "MISS";
      if (unchanged(etag)) {
        c.header("X-Cache", xCache);
        return notModified(c, etag);
      }
      const base = requestOrigin(c.req.url);
      const json = fields
        ? JSON.stringify(resourceDocument(productResource(product, base, fields)))
        : productDocumentJson(product, base, cached);
      return jsonApiResponse(c, 200, json, { "X-Cache": xCache, ETag: etag });
    })
    .patch(
      "/:id",
      jsonApiQuery(noQuery),
      jsonApiDocument({ type: "products", attributes: updateProductAttributes, idParam: "id" }),
      async (c) => {
        const { attributes } = c.req.valid("json");
        const expected = expectedVersions(ifMatch(c));
        const product = await conditionally(() =>
          service.update(productId(c.req.param("id")), attributes, c.get("logger"), expected)
        );
        return jsonApiResponse(
          c,
          200,
          JSON.stringify(resourceDocument(productResource(product, requestOrigin(c.req.url)))),
          { ETag: productTag(product.version) },
        );
      },
    )
    .delete("/:id", jsonApiQuery(noQuery), async (c) => {
      const expected = expectedVersions(ifMatch(c));
      await conditionally(() =>
        service.delete(productId(c.req.param("id")), c.get("logger"), expected)
      );
      return c.body(null, 204);
    })
    .all("/:id", methodNotAllowed(["GET", "PATCH", "DELETE"]));
}

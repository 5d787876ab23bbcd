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
import type { InventoryService, RequestContext } from "../application/inventory_service.ts";
import { InsufficientStockError, UnknownProductError } from "../domain/errors.ts";
import type { IdempotencyStore } from "../domain/ports.ts";
import type { StockSortField } from "../domain/stock.ts";
import { idempotency, IDEMPOTENCY_HEADER } from "./idempotency.ts";
import {
  createStockAttributes,
  listStockQuery,
  singleStockQuery,
  updateStockAttributes,
} from "./schemas.ts";
import { includedProducts, stockResource } from "./serializer.ts";

export interface InventoryRoutesOptions {
  service: InventoryService;
  idempotencyStore: IdempotencyStore;
  productsServiceUrl: string;
  /** Metrics hooks: an applied change, a refused purchase. */
  onAdjusted?: (kind: "delta" | "set") => void;
  onInsufficientStock?: () => void;
}

/** A malformed id can name no record: 404 without touching the store. */
function productId(id: string): string {
  return uuidParam(id, { code: "stock_not_found", detail: `No inventory record for ${id}` });
}

export function inventoryRoutes(options: InventoryRoutesOptions): Hono<AppEnv> {
  const { service, productsServiceUrl } = options;
  const context = (
    c: { get(k: "requestId"): string; get(k: "logger"): RequestContext["log"] },
  ) => ({
    requestId: c.get("requestId"),
    log: c.get("logger"),
  });
  const serialize = (url: string, fields?: readonly string[]) => ({
    baseUrl: requestOrigin(url),
    productsServiceUrl,
    fields,
  });

  return new Hono<AppEnv>()
    .use(idempotency({ store: options.idempotencyStore }))
    .post(
      "/",
      jsonApiQuery(noQuery),
      jsonApiDocument({ type: "inventory", attributes: createStockAttributes }),
      async (c) => {
        const input = c.req.valid("json");
        const id = input.attributes.product_id.toLowerCase();
        if (input.id !== undefined && input.id.toLowerCase() !== id) {
          throw new ApiError(409, {
            code: "id_mismatch",
            detail: "data.id, when given, must equal attributes.product_id",
            source: { pointer: "/data/id" },
          });
        }
        let record;
        try {
          record = await service.create(id, input.attributes.quantity, context(c));
        } catch (err) {
          if (err instanceof UnknownProductError) {
            throw new ApiError(422, {
              code: err.code,
              detail: err.message,
              source: { pointer: "/data/attributes/product_id" },
            });
          }
          throw err;
        }
        const resource = stockResource(record, serialize(c.req.url));
        return jsonApiResponse(c, 201, JSON.stringify(resourceDocument(resource)), {
          Location: resource.links!.self,
        });
      },
    )
    .get("/", jsonApiQuery(listStockQuery), async (c) => {
      const q = c.req.valid("query");
      const { number, size } = q.page;
      const sort = q.sort[0] ?? { field: "last_updated", descending: false };
      const include = q.include.includes("product");
      const page = await service.list(
        {
          offset: (number - 1) * size,
          limit: size,
          sort: { field: sort.field as StockSortField, descending: sort.descending },
          maxQuantity: q.filters.max_quantity as number | undefined,
        },
        context(c),
        include,
      );
      const options = serialize(c.req.url, q.fields.inventory);
      const data = page.items.map((r) => stockResource(r, options));
      return jsonApiResponse(
        c,
        200,
        JSON.stringify(
          collectionDocument(data, c.req.url, { number, size, total: page.total }, {
            included: include ? includedProducts(page.products ?? []) : undefined,
          }),
        ),
      );
    })
    .all("/", methodNotAllowed(["GET", "POST"]))
    .get("/:product_id", jsonApiQuery(singleStockQuery), async (c) => {
      const q = c.req.valid("query");
      const include = q.include.includes("product");
      const { record, product } = await service.get(
        productId(c.req.param("product_id")),
        context(c),
        include,
      );
      const resource = stockResource(record, serialize(c.req.url, q.fields.inventory));
      return jsonApiResponse(
        c,
        200,
        JSON.stringify(
          resourceDocument(resource, {
            included: include ? includedProducts([product]) : undefined,
          }),
        ),
      );
    })
    .patch(
      "/:product_id",
      jsonApiQuery(noQuery),
      jsonApiDocument({
        type: "inventory",
        attributes: updateStockAttributes,
        idParam: "product_id",
      }),
      async (c) => {
        const raw = c.req.param("product_id");
        const { quantity_delta, quantity } = c.req.valid("json").attributes;
        let record;
        try {
          record = await service.change(
            productId(raw),
            quantity_delta !== undefined ? { delta: quantity_delta } : { quantity: quantity! },
            context(c),
            // Validated by the idempotency middleware; recorded with the change itself.
            c.req.header(IDEMPOTENCY_HEADER),
          );
        } catch (err) {
          if (err instanceof InsufficientStockError) options.onInsufficientStock?.();
          throw err;
        }
        options.onAdjusted?.(quantity_delta !== undefined ? "delta" : "set");
        return jsonApiResponse(
          c,
          200,
          JSON.stringify(resourceDocument(stockResource(record, serialize(c.req.url)))),
        );
      },
    )
    .delete("/:product_id", jsonApiQuery(noQuery), async (c) => {
      await service.delete(productId(c.req.param("product_id")), context(c));
      return c.body(null, 204);
    })
    .all("/:product_id", methodNotAllowed(["GET", "PATCH", "DELETE"]));
}

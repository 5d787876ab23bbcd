import { Hono } from "hono";
import {
  ApiError,
  collectionDocument,
  ifNoneMatch,
  jsonApiDocument,
  jsonApiQuery,
  jsonApiResponse,
  methodNotAllowed,
  noQuery,
  notModified,
  resourceDocument,
} from "@stockroom/http";
import type { InventoryService } from "../application/inventory_service.ts";
import { UnknownProductError } from "../domain/errors.ts";
import type { IdempotencyStore, KeyedAnswer } from "../domain/ports.ts";
import type { StockSortField } from "../domain/stock.ts";
import { idempotency, type InventoryEnv } from "./idempotency.ts";
import { movementRoutes } from "./movement_routes.ts";
import {
  productId,
  requestContext,
  requiredVersion,
  rethrow,
  serializeOptions,
  variant,
} from "./route_support.ts";
import {
  createStockAttributes,
  listStockQuery,
  singleStockQuery,
  updateStockAttributes,
} from "./schemas.ts";
import { includedProducts, stockResource, stockTag } from "./serializer.ts";

export interface InventoryRoutesOptions {
  service: InventoryService;
  idempotencyStore: IdempotencyStore;
  /** Keeps keyed answers after they were given. */
  remember: (answer: KeyedAnswer) => void;
  productsServiceUrl: string;
  /** Metrics hooks: an applied change, a refused purchase. */
  onAdjusted?: (kind: "delta" | "set") => void;
  onInsufficientStock?: () => void;
}

export function inventoryRoutes(options: InventoryRoutesOptions): Hono<InventoryEnv> {
  const { service, productsServiceUrl } = options;
  const replayed = (yes: boolean): Record<string, string> =>
    yes ? { "Idempotent-Replayed": "true" } : {};

  return new Hono<InventoryEnv>()
    .use(idempotency({ store: options.idempotencyStore, remember: options.remember }))
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
        let created;
        try {
          created = await service.create(id, input.attributes.quantity, requestContext(c));
        } catch (err) {
          if (err instanceof UnknownProductError) {
            throw new ApiError(422, {
              code: err.code,
              detail: err.message,
              source: { pointer: "/data/attributes/product_id" },
            });
          }
          rethrow(err);
        }
        const resource = stockResource(created.record, serializeOptions(c, productsServiceUrl));
        return jsonApiResponse(c, 201, JSON.stringify(resourceDocument(resource)), {
          Location: resource.links!.self,
          ETag: stockTag(created.record),
          ...replayed(created.replayed),
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
        requestContext(c),
        include,
      );
      const serialize = serializeOptions(c, productsServiceUrl, q.fields.inventory);
      const data = page.items.map((r) => stockResource(r, serialize));
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
    .route("/", movementRoutes(service))
    .get("/:product_id", jsonApiQuery(singleStockQuery), async (c) => {
      const q = c.req.valid("query");
      const fresh = ifNoneMatch(c);
      const include = q.include.includes("product");
      const { record, product } = await service.get(
        productId(c.req.param("product_id")),
        requestContext(c),
        include,
      );
      const etag = stockTag(record, variant(q.fields.inventory, q.include));
      if (fresh(etag)) return notModified(c, etag);
      const resource = stockResource(
        record,
        serializeOptions(c, productsServiceUrl, q.fields.inventory),
      );
      return jsonApiResponse(
        c,
        200,
        JSON.stringify(
          resourceDocument(resource, {
            included: include ? includedProducts([product]) : undefined,
          }),
        ),
        { ETag: etag },
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
        const id = productId(c.req.param("product_id"));
        const { quantity_delta, quantity, reason, reference } = c.req.valid("json").attributes;
        const expectedSequence = await requiredVersion(
          c,
          async () => (await service.get(id, requestContext(c))).record.sequence,
        );
        let changed;
        try {
          changed = await service.change(
            id,
            quantity_delta !== undefined
              ? { kind: "adjust", delta: quantity_delta }
              : { kind: "set", quantity: quantity! },
            requestContext(c),
            { reason, reference, expectedSequence },
          );
        } catch (err) {
          if ((err as { code?: string }).code === "insufficient_stock") {
            options.onInsufficientStock?.();
          }
          rethrow(err);
        }
        if (!changed.replayed) options.onAdjusted?.(quantity_delta !== undefined ? "delta" : "set");
        const resource = stockResource(changed.record, serializeOptions(c, productsServiceUrl));
        return jsonApiResponse(c, 200, JSON.stringify(resourceDocument(resource)), {
          ETag: stockTag(changed.record),
          ...replayed(changed.replayed),
        });
      },
    )
    .delete("/:product_id", jsonApiQuery(noQuery), async (c) => {
      const id = productId(c.req.param("product_id"));
      const expectedSequence = await requiredVersion(
        c,
        async () => (await service.get(id, requestContext(c))).record.sequence,
      );
      try {
        await service.delete(id, requestContext(c), expectedSequence);
      } catch (err) {
        rethrow(err);
      }
      return c.body(null, 204);
    })
    .all("/:product_id", methodNotAllowed(["GET", "PATCH", "DELETE"]));
}

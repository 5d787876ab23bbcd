import { Hono } from "hono";
import { jsonApiQuery, jsonApiResponse, methodNotAllowed, requestOrigin } from "@stockroom/http";
import type { InventoryService } from "../application/inventory_service.ts";
import type { InventoryEnv } from "./idempotency.ts";
import { productId } from "./route_support.ts";
import { movementsQuery } from "./schemas.ts";
import { movementResource } from "./serializer.ts";

/** `GET /inventory/{product_id}/movements`: the record's ledger, oldest first, paged by cursor. */
export function movementRoutes(service: InventoryService): Hono<InventoryEnv> {
  return new Hono<InventoryEnv>()
    .get("/:product_id/movements", jsonApiQuery(movementsQuery), async (c) => {
      const id = productId(c.req.param("product_id"));
      const { after, size } = c.req.valid("query").page;
      const movements = await service.movements(id, { after, limit: size });
      const self = `${requestOrigin(c.req.url)}/inventory/${id}/movements`;
      const page = (cursor: number) => `${self}?page%5Bafter%5D=${cursor}&page%5Bsize%5D=${size}`;
      const last = movements.at(-1)?.sequence;
      return jsonApiResponse(
        c,
        200,
        JSON.stringify({
          jsonapi: { version: "1.1" },
          data: movements.map(movementResource),
          links: {
            self: page(after),
            // A full page may have more after it; a short one is the end, for now.
            next: movements.length === size && last !== undefined ? page(last) : null,
          },
        }),
      );
    })
    .all("/:product_id/movements", methodNotAllowed(["GET"]));
}

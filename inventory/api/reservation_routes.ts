import { Hono } from "hono";
import {
  ApiError,
  type ApiErrorItem,
  collectionDocument,
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
import type { ReservationService } from "../application/reservation_service.ts";
import { CartRefusedError, StaleReservationError } from "../domain/errors.ts";
import type { IdempotencyStore, KeyedAnswer } from "../domain/ports.ts";
import {
  DEFAULT_TTL_SECONDS,
  type Reservation,
  type ReservationStatus,
} from "../domain/reservation.ts";
import { idempotency, type InventoryEnv } from "./idempotency.ts";
import { requestContext, requiredVersion, rethrow } from "./route_support.ts";
import {
  createReservationAttributes,
  listReservationsQuery,
  updateReservationAttributes,
} from "./schemas.ts";
import { reservationResource, reservationTag } from "./serializer.ts";

export interface ReservationRoutesOptions {
  service: ReservationService;
  idempotencyStore: IdempotencyStore;
  remember: (answer: KeyedAnswer) => void;
}

function reservationId(id: string): string {
  return uuidParam(id, { code: "reservation_not_found", detail: `No reservation ${id}` });
}

/** A refused cart: one error per line, pointing at the line as it was sent. */
function cartRefused(err: CartRefusedError): ApiError {
  const unknown = err.problems.filter((p) => p.kind === "no_stock_record");
  if (unknown.length > 0) {
    return new ApiError(
      422,
      unknown.map((p): ApiErrorItem => ({
        code: "stock_not_found",
        detail: `Product ${p.productId} has no inventory record`,
        source: { pointer: `/data/attributes/lines/${p.index}/product_id` },
      })),
    );
  }
  return new ApiError(
    409,
    err.problems.map((p): ApiErrorItem => ({
      code: "insufficient_stock",
      detail: p.kind === "short"
        ? `Product ${p.productId} has ${p.available} in stock; ${p.requested} requested`
        : `Product ${p.productId} cannot be held`,
      source: { pointer: `/data/attributes/lines/${p.index}/quantity` },
      meta: { available: p.kind === "short" ? p.available : 0 },
    })),
  );
}

function fail(err: unknown): never {
  if (err instanceof CartRefusedError) throw cartRefused(err);
  if (err instanceof StaleReservationError) {
    throw preconditionFailed(reservationTag(err));
  }
  rethrow(err);
}

/** `/reservations`: carts that hold stock, then commit, release or expire (see the service). */
export function reservationRoutes(options: ReservationRoutesOptions): Hono<InventoryEnv> {
  const { service } = options;
  const one = (base: string, r: Reservation) =>
    JSON.stringify(resourceDocument(reservationResource(r, service.statusOf(r), base)));

  return new Hono<InventoryEnv>()
    .use(idempotency({ store: options.idempotencyStore, remember: options.remember }))
    .post(
      "/",
      jsonApiQuery(noQuery),
      jsonApiDocument({ type: "reservations", attributes: createReservationAttributes }),
      async (c) => {
        const input = c.req.valid("json");
        if (input.id !== undefined) {
          throw new ApiError(403, {
            code: "client_id_not_supported",
            detail: "Reservation ids are assigned by the server; leave data.id out",
            source: { pointer: "/data/id" },
          });
        }
        const { lines, ttl_seconds, reference } = input.attributes;
        let made;
        try {
          made = await service.create({
            lines: lines.map((l) => ({
              productId: l.product_id.toLowerCase(),
              quantity: l.quantity,
            })),
            ttlSeconds: ttl_seconds ?? DEFAULT_TTL_SECONDS,
            reference: reference ?? null,
          }, requestContext(c));
        } catch (err) {
          fail(err);
        }
        const base = requestOrigin(c.req.url);
        const { reservation } = made;
        return jsonApiResponse(c, 201, one(base, reservation), {
          Location: `${base}/reservations/${reservation.id}`,
          ETag: reservationTag(reservation),
          ...(made.replayed ? { "Idempotent-Replayed": "true" } : {}),
        });
      },
    )
    .get("/", jsonApiQuery(listReservationsQuery), async (c) => {
      const q = c.req.valid("query");
      const { number, size } = q.page;
      const page = await service.list({
        offset: (number - 1) * size,
        limit: size,
        status: q.filters.status as ReservationStatus | undefined,
        productId: q.filters.product_id as string | undefined,
      });
      const base = requestOrigin(c.req.url);
      const data = page.items.map((r) => reservationResource(r, service.statusOf(r), base));
      return jsonApiResponse(
        c,
        200,
        JSON.stringify(collectionDocument(data, c.req.url, { number, size, total: page.total })),
      );
    })
    .all("/", methodNotAllowed(["GET", "POST"]))
    .get("/:id", jsonApiQuery(noQuery), async (c) => {
      const fresh = ifNoneMatch(c);
      let r;
      try {
        r = await service.get(reservationId(c.req.param("id")));
      } catch (err) {
        fail(err);
      }
      const etag = reservationTag(r);
      if (fresh(etag)) return notModified(c, etag);
      return jsonApiResponse(c, 200, one(requestOrigin(c.req.url), r), { ETag: etag });
    })
    .patch(
      "/:id",
      jsonApiQuery(noQuery),
      jsonApiDocument({
        type: "reservations",
        attributes: updateReservationAttributes,
        idParam: "id",
      }),
      async (c) => {
        const id = reservationId(c.req.param("id"));
        const { status, ttl_seconds } = c.req.valid("json").attributes;
        let r;
        try {
          const expected = await requiredVersion(
            c,
            async () => (await service.get(id)).version,
            "r",
          );
          if (status === "committed" || status === "released") {
            r = await service.close(id, status, requestContext(c), expected);
          } else if (ttl_seconds !== undefined) {
            r = await service.extend(id, ttl_seconds, expected);
          } else {
            // `held` alone: nothing to change, if it still is.
            r = await service.stillHeld(id, expected);
          }
        } catch (err) {
          fail(err);
        }
        return jsonApiResponse(c, 200, one(requestOrigin(c.req.url), r), {
          ETag: reservationTag(r),
        });
      },
    )
    .all("/:id", methodNotAllowed(["GET", "PATCH"]));
}

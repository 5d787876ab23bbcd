import { z } from "zod";
import { integerParam, type QuerySpec } from "@stockroom/http";
import { UUID_PATTERN } from "@stockroom/kernel";
import { ADJUSTMENT_REASONS, REFERENCE_MAX } from "../domain/movement.ts";
import { MAX_LINES, MAX_TTL_SECONDS, RESERVATION_STATUSES } from "../domain/reservation.ts";
import { MAX_QUANTITY } from "../domain/stock.ts";

function integer(min: number, max: number) {
  return z.number({
    error: (iss) => iss.input === undefined ? "is required" : "must be a JSON integer",
  }).int("must be an integer").min(min, `must be at least ${min}`).max(
    max,
    `must be at most ${max}`,
  );
}

export const createStockAttributes = z.strictObject({
  product_id: z.string({
    error: (iss) => iss.input === undefined ? "is required" : "must be a string",
  }).regex(UUID_PATTERN, "must be a product UUID"),
  quantity: integer(0, MAX_QUANTITY),
});

/** A client's text for the ledger: printable, at most 255 characters. */
const reference = z.string({ error: "must be a string" })
  .max(REFERENCE_MAX, `must be at most ${REFERENCE_MAX} characters`)
  .refine(
    (s) => s.isWellFormed() && !s.includes("\u0000"),
    "must not contain NUL characters or unpaired surrogates",
  );

/**
 * Exactly one of `quantity_delta` (the purchase flow) or `quantity` (an absolute count), with an
 * optional `reason` for the ledger (by default: purchase, restock or correction) and `reference`.
 */
export const updateStockAttributes = z.strictObject({
  quantity_delta: integer(-MAX_QUANTITY, MAX_QUANTITY).optional(),
  quantity: integer(0, MAX_QUANTITY).optional(),
  reason: z.enum(ADJUSTMENT_REASONS, {
    error: `must be one of ${ADJUSTMENT_REASONS.join(", ")}`,
  }).optional(),
  reference: reference.optional(),
}).refine(
  (a) => (a.quantity_delta === undefined) !== (a.quantity === undefined),
  "give exactly one of quantity_delta or quantity",
);

export const STOCK_FIELDS = [
  "product_id",
  "quantity",
  "reserved",
  "last_updated",
  "product",
  "movements",
] as const;

export const listStockQuery: QuerySpec = {
  paginated: true,
  sortable: ["quantity", "last_updated"],
  filters: { max_quantity: integerParam },
  fields: { inventory: STOCK_FIELDS },
  includable: ["product"],
};

export const singleStockQuery: QuerySpec = {
  fields: { inventory: STOCK_FIELDS },
  includable: ["product"],
};

/** A ledger page: by cursor (`page[after]`, the last sequence seen) and `page[size]`. */
export const movementsQuery: QuerySpec = { cursor: true };

const line = z.strictObject({
  product_id: z.string({
    error: (iss) => iss.input === undefined ? "is required" : "must be a string",
  }).regex(UUID_PATTERN, "must be a product UUID"),
  quantity: integer(1, MAX_QUANTITY),
});

const ttlSeconds = integer(1, MAX_TTL_SECONDS);

/** A cart: 1–100 lines (lines for one product are summed), a time to live, a reference. */
export const createReservationAttributes = z.strictObject({
  lines: z.array(line, { error: "must be an array of lines" })
    .min(1, "must hold at least one line")
    .max(MAX_LINES, `must hold at most ${MAX_LINES} lines`),
  ttl_seconds: ttlSeconds.optional(),
  reference: reference.nullable().optional(),
});

/** A status change (`committed`, `released`; `held` changes nothing) and/or a new time to live. */
export const updateReservationAttributes = z.strictObject({
  status: z.enum(["held", "committed", "released"], {
    error: "must be one of held, committed, released",
  }).optional(),
  ttl_seconds: ttlSeconds.optional(),
}).refine(
  (a) => a.status !== undefined || a.ttl_seconds !== undefined,
  "give status or ttl_seconds",
).refine(
  (a) => a.ttl_seconds === undefined || a.status === undefined || a.status === "held",
  "ttl_seconds extends a held reservation; it cannot come with committed or released",
);

export const listReservationsQuery: QuerySpec = {
  paginated: true,
  filters: {
    status: z.enum(RESERVATION_STATUSES, {
      error: `must be one of ${RESERVATION_STATUSES.join(", ")}`,
    }),
    product_id: z.string().regex(UUID_PATTERN, "must be a product UUID")
      .transform((s) => s.toLowerCase()),
  },
};

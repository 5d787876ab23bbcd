import { z } from "zod";
import { integerParam, type QuerySpec } from "@stockroom/http";
import { MAX_QUANTITY } from "../domain/stock.ts";

import { UUID_PATTERN } from "@stockroom/kernel";

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

/** Exactly one of `quantity_delta` (the purchase flow) or `quantity` (an absolute count). */
export const updateStockAttributes = z.strictObject({
  quantity_delta: integer(-MAX_QUANTITY, MAX_QUANTITY).optional(),
  quantity: integer(0, MAX_QUANTITY).optional(),
}).refine(
  (a) => (a.quantity_delta === undefined) !== (a.quantity === undefined),
  "give exactly one of quantity_delta or quantity",
);

export const STOCK_FIELDS = ["product_id", "quantity", "last_updated", "product"] as const;

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

import { z } from "zod";
import { decimalParam, type QuerySpec } from "@stockroom/http";
import {
  codePointLength,
  DESCRIPTION_MAX,
  hasAtMostTwoDecimals,
  isStorableText,
  NAME_MAX,
  PRICE_MAX,
} from "../domain/product.ts";

function text(max: number, min = 0) {
  return z.string({ error: (iss) => iss.input === undefined ? "is required" : "must be a string" })
    .refine(isStorableText, "must not contain NUL characters or unpaired surrogates")
    .refine((s) => codePointLength(s) >= min, `must be at least ${min} character(s)`)
    .refine((s) => codePointLength(s) <= max, `must be at most ${max} characters`);
}

const price = z.number({
  error: (iss) => iss.input === undefined ? "is required" : "must be a JSON number",
})
  .min(0, "must be 0 or more")
  .max(PRICE_MAX, `must be at most ${PRICE_MAX}`)
  .refine(hasAtMostTwoDecimals, "must have at most 2 decimal places");

export const productAttributes = {
  name: text(NAME_MAX, 1),
  description: text(DESCRIPTION_MAX),
  price,
};

export const createProductAttributes = z.strictObject(productAttributes);
export const updateProductAttributes = z.strictObject(productAttributes).partial();

export const PRODUCT_FIELDS = ["name", "description", "price", "created_at", "updated_at"] as const;

export const listProductsQuery: QuerySpec = {
  paginated: true,
  sortable: ["name", "price", "created_at", "updated_at"],
  filters: {
    name: z.string().max(NAME_MAX, `must be at most ${NAME_MAX} characters`).refine(
      isStorableText,
      "must not contain NUL characters",
    ),
    min_price: decimalParam,
    max_price: decimalParam,
  },
  fields: { products: PRODUCT_FIELDS },
};

export const singleProductQuery: QuerySpec = { fields: { products: PRODUCT_FIELDS } };

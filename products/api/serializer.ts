import { type ResourceObject, sparse } from "@stockroom/shared";
import type { Product } from "../domain/product.ts";

/** The attributes a client sees, listed one by one so nothing else can leak out. */
export function productResource(
  product: Product,
  baseUrl: string,
  fields?: readonly string[],
): ResourceObject {
  return {
    type: "products",
    id: product.id,
    attributes: sparse({
      name: product.name,
      description: product.description,
      price: product.price,
      created_at: product.createdAt,
      updated_at: product.updatedAt,
    }, fields),
    links: { self: `${baseUrl}/products/${product.id}` },
  };
}

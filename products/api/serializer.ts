import { resourceDocument, type ResourceObject, sparse } from "@stockroom/http";
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

const rendered = new WeakMap<Product, { baseUrl: string; json: string }>();

/**
 * The JSON text of the document for one product with every field. Cached products are shared,
 * frozen objects, so the text for one is made once (per base URL) and reused by every hit after:
 * serializing was the largest single cost of a cached read. A product object no one holds any
 * more is dropped from the memo with it.
 */
export function productDocumentJson(product: Product, baseUrl: string): string {
  const memo = rendered.get(product);
  if (memo?.baseUrl === baseUrl) return memo.json;
  const json = JSON.stringify(resourceDocument(productResource(product, baseUrl)));
  if (Object.isFrozen(product)) rendered.set(product, { baseUrl, json });
  return json;
}

import { type ResourceObject, sparse } from "@stockroom/http";
import type { CatalogProduct } from "../domain/ports.ts";
import type { StockRecord } from "../domain/stock.ts";

export interface SerializeOptions {
  baseUrl: string;
  productsServiceUrl: string;
  fields?: readonly string[];
}

/** Attributes listed one by one so nothing else leaks; `product` is a relationship. */
export function stockResource(record: StockRecord, options: SerializeOptions): ResourceObject {
  const resource: ResourceObject = {
    type: "inventory",
    id: record.productId,
    attributes: sparse({
      product_id: record.productId,
      quantity: record.quantity,
      last_updated: record.lastUpdated.toISOString(),
    }, options.fields),
    links: { self: `${options.baseUrl}/inventory/${record.productId}` },
  };
  if (!options.fields || options.fields.includes("product")) {
    resource.relationships = {
      product: {
        data: { type: "products", id: record.productId },
        links: { related: `${options.productsServiceUrl}/products/${record.productId}` },
      },
    };
  }
  return resource;
}

/** The products service's own resource objects, for `included`. */
export function includedProducts(
  products: (CatalogProduct | null | undefined)[],
): ResourceObject[] {
  const seen = new Set<string>();
  const included: ResourceObject[] = [];
  for (const product of products) {
    if (!product || seen.has(product.id)) continue;
    seen.add(product.id);
    included.push(product.resource as unknown as ResourceObject);
  }
  return included;
}

/**
 * Products' entity tags (see http/conditional.ts): a product's version makes the tag, so it changes
 * with every change of the product, and the database and the cache give the same one.
 */
import { entityTag, type Precondition } from "@stockroom/http";
import type { ExpectedVersions } from "../domain/product.ts";
import { PRODUCT_FIELDS } from "./schemas.ts";

type ProductField = (typeof PRODUCT_FIELDS)[number];

/**
 * A sparse fieldset in the one order its document lists the fields in (that of the full
 * representation, duplicates dropped), so one set of fields is one exact representation whatever
 * order the request named them in, and one tag.
 */
export function canonicalFields(fields: readonly string[]): ProductField[] {
  return PRODUCT_FIELDS.filter((field) => fields.includes(field));
}

/**
 * The strong tag of a product's document: `"v<version>"` for the full representation, and for a
 * sparse fieldset (canonical, see canonicalFields) a variant naming its fields, joined by `.`:
 * `"v3-name.price"`, or `"v3-none"` for no field at all.
 */
export function productTag(version: number, fields?: readonly ProductField[]): string {
  if (!fields) return entityTag(`v${version}`);
  return entityTag(`v${version}`, fields.length > 0 ? fields.join(".") : "none");
}

const VERSION_TAG = /^v([1-9][0-9]{0,14})$/;

/**
 * What a change's `If-Match` expects, for the repository: undefined without one or with `*` (the
 * product need only exist), else the versions its tags name. Only the full representation's tags
 * (`"v3"`) name a version: a sparse fieldset's, or anything else, never matches.
 */
export function expectedVersions(
  precondition: Precondition | undefined,
): ExpectedVersions | undefined {
  if (!precondition || precondition.any) return undefined;
  return precondition.versions.flatMap((tag) => {
    const match = VERSION_TAG.exec(tag);
    return match ? [Number(match[1])] : [];
  });
}

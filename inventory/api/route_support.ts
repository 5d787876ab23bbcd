/** What the inventory routes share: the request context, the id guard, versions and their tags. */
import type { Context } from "hono";
import { ifMatch, preconditionFailed, requestOrigin, uuidParam } from "@stockroom/http";
import type { RequestContext } from "../application/inventory_service.ts";
import { IdempotencyKeyReusedError, StaleVersionError } from "../domain/errors.ts";
import type { InventoryEnv } from "./idempotency.ts";
import { keyReused } from "./idempotency.ts";
import { stockTag } from "./serializer.ts";

/** A malformed id can name no record: 404 without touching the store. */
export function productId(id: string): string {
  return uuidParam(id, { code: "stock_not_found", detail: `No inventory record for ${id}` });
}

export function requestContext(c: Context<InventoryEnv>): RequestContext {
  const op = c.get("idempotency");
  return { requestId: c.get("requestId"), log: c.get("logger"), ...(op ? { op } : {}) };
}

export function serializeOptions(
  c: Context<InventoryEnv>,
  productsServiceUrl: string,
  fields?: readonly string[],
) {
  return { baseUrl: requestOrigin(c.req.url), productsServiceUrl, fields };
}

/**
 * `If-Match` as the version a change requires: `*` (or no header) requires none; one of our tags
 * (`"s<sequence>"`, or `"r<version>"` for a reservation) requires that version; anything else can never match. With several tags,
 * `current` is asked for the version, and the change then requires exactly it.
 */
export async function requiredVersion(
  c: Context<InventoryEnv>,
  current: () => Promise<number>,
  prefix: "s" | "r" = "s",
): Promise<number | undefined> {
  const precondition = ifMatch(c);
  if (!precondition || precondition.any) return undefined;
  const tag = new RegExp(`^${prefix}([1-9][0-9]{0,14})$`);
  const sequences = precondition.versions
    .map((v) => tag.exec(v)?.[1])
    .filter((s): s is string => s !== undefined)
    .map(Number);
  if (sequences.length === 1) return sequences[0];
  const now = await current();
  // Zero matches nothing: every record is at sequence 1 or more.
  return sequences.includes(now) ? now : 0;
}

/** Domain refusals that become a particular HTTP answer here: a stale version, a reused key. */
export function rethrow(err: unknown): never {
  if (err instanceof StaleVersionError) throw preconditionFailed(stockTag(err.current));
  if (err instanceof IdempotencyKeyReusedError) throw keyReused();
  throw err;
}

/** The part of a tag that says which representation: sparse fields and includes have their own. */
export function variant(fields: string[] | undefined, include: string[]): string | undefined {
  const parts = [...(fields ? [`f.${fields.join(".")}`] : []), ...include.map((i) => `i.${i}`)];
  return parts.length > 0 ? parts.join("-") : undefined;
}

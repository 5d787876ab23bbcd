import assert from "node:assert/strict";
import fc from "fast-check";
import {
  call,
  type CallResult,
  countBy,
  createProduct,
  createStock,
  createStores,
  errorDocumentProblem,
  figures,
  ignore,
  inventoryEnv,
  JSONAPI,
  listAll,
  productsEnv,
  type RunningService,
  show,
  startService,
  stopAll,
} from "./support.ts";

/**
 * Case 4: property-based hostile input (fast-check, seeded) against every route of both services.
 * Every generated request is one that cannot legitimately succeed: each request document carries
 * at least one definite violation ("poison"), DELETE only names records that do not exist, and
 * only GET may answer 2xx. Assertions per answer: never a 5xx (nor a dropped connection), a
 * JSON:API error document for every 4xx; and after each family of requests both stores list
 * exactly what they listed before.
 *
 * RELIABILITY_SEED=<n> replays a run; the seed is printed.
 */

const SEED = Number(Deno.env.get("RELIABILITY_SEED") ?? Date.now() % 2 ** 31);
const MAX_QUANTITY = 1_000_000_000;
const MIB = 1024 * 1024;

type Service = "products" | "inventory";

interface HostileRequest {
  service: Service;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array | { chunked: Uint8Array };
  family: string;
}

export interface Known {
  /** Products with a stock record. */
  stocked: string[];
  /** A product without a stock record. */
  bare: string;
}

// ------------------------------------------------------------------------------------ values

const SQL = [
  "' OR '1'='1",
  "'; DROP TABLE products; --",
  '" OR 1=1 --',
  "1; SELECT pg_sleep(30)--",
  "%' OR name ILIKE '%",
  "\\'; COPY products TO '/tmp/x'; --",
  "$1",
  "::text",
];
const NOSQL: unknown[] = [
  { $ne: null },
  { $gt: "" },
  { $where: "sleep(5000)" },
  { $regex: ".*" },
  { $in: [1, 2] },
  { $expr: { $gt: ["$quantity", 0] } },
];
const ODD_TEXT = [
  "__proto__",
  "constructor",
  "prototype",
  "\u0000",
  "\ud800",
  "\udfff\ud800",
  "𝕏".repeat(300),
  "<script>alert(1)</script>",
  "${7*7}{{7*7}}",
  "../../../../etc/passwd",
  "NaN",
  "Infinity",
  "-0",
  "1e309",
  "\u202e\u0007\b\f",
];

const hostileText = fc.oneof(
  fc.constantFrom(...SQL, ...ODD_TEXT),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.string({ maxLength: 12 }),
);

/** A value that is not a string (for name, description, product_id). */
const notAString = fc.oneof(
  fc.constantFrom(...NOSQL),
  fc.constantFrom(null, true, false, 0, -1, 1e308, [], [1], ["x"], {}),
  fc.double({ noNaN: true }),
  fc.constant("deep").map(() => deepValue(2000)),
);

/** Not a valid price: wrong type, negative, over 99 999 999.99, or more than two decimals. */
const badPrice = fc.oneof(
  fc.constantFrom(...NOSQL),
  fc.constantFrom(null, "12.50", "", true, [], {}, -0.01, -1, 100_000_000, 1e308, 0.001, 1.005),
  fc.constantFrom(Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53 + 2, -(2 ** 31)),
  fc.double({ min: 100_000_000, max: 1e300, noNaN: true }),
  fc.integer({ min: -(2 ** 31), max: -1 }),
);

/** Not a valid quantity or delta for inventory. */
const badInteger = fc.oneof(
  fc.constantFrom(...NOSQL),
  fc.constantFrom(null, "5", "", true, [], {}, 1.5, -0.5, 1e308, 2 ** 53 + 2),
  fc.constantFrom(MAX_QUANTITY + 1, -(MAX_QUANTITY + 1), Number.MAX_SAFE_INTEGER),
  fc.double({ noNaN: true, noInteger: true }),
);

const UNKNOWN_KEYS = [
  "__proto__",
  "constructor",
  "prototype",
  "$where",
  "$set",
  "$inc",
  "id",
  "created_at",
  "updated_at",
  "last_updated",
  "admin",
  "",
  "a.b",
  "name ",
];

function deepValue(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

/** Adds an own property, even `__proto__` (an object literal would set the prototype). */
function withKey(target: Record<string, unknown>, key: string, value: unknown) {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return target;
}

// ------------------------------------------------------------------------------- documents

type Doc = Record<string, unknown>;

const validProductAttributes = fc.record({
  name: fc.oneof(fc.constantFrom(...SQL), fc.string({ minLength: 1, maxLength: 20 })),
  description: fc.oneof(fc.constantFrom(...SQL, ""), fc.string({ maxLength: 40 })),
  price: fc.integer({ min: 0, max: 999_999 }).map((c) => c / 100),
});

type Poison = (doc: Doc) => Doc;
const attrs = (doc: Doc) => ((doc.data as Doc).attributes as Doc);

/** Poisons any document: each makes it invalid whatever else it holds. */
const commonPoisons = (type: "products" | "inventory"): fc.Arbitrary<Poison>[] => [
  // unknown attribute, dangerous names included
  fc.tuple(fc.constantFrom(...UNKNOWN_KEYS), fc.oneof(notAString, hostileText)).map(
    ([key, value]) => (doc: Doc) => (withKey(attrs(doc), key, value), doc),
  ),
  // wrong or missing type (never the right one, so two of these cannot cancel out)
  fc.constantFrom<unknown>(
    "Products",
    "product",
    "",
    "INVENTORY",
    "inventory ",
    1,
    null,
    { $ne: null },
    ["products"],
    "(missing)",
    type === "products" ? "inventory" : "products",
  ).map((wrong) => (doc: Doc) => {
    const data = doc.data as Doc;
    if (wrong === "(missing)") delete data.type;
    else data.type = wrong;
    return doc;
  }),
  // data that is not a resource object
  fc.constantFrom<unknown>(null, [], "data", 1, true).map((data) => (doc: Doc) => ({
    ...doc,
    data,
  })),
  fc.constant((doc: Doc) => ({ data: [doc.data] })),
  // attributes that are not an object
  fc.constantFrom<unknown>(null, [], "x", 1, [{ name: "x" }]).map((a) => (doc: Doc) => {
    (doc.data as Doc).attributes = a;
    return doc;
  }),
  // relationships are not accepted in request documents
  fc.constant((doc: Doc) => {
    (doc.data as Doc).relationships = { product: { data: { type: "products", id: "x" } } };
    return doc;
  }),
  // a non-string id
  fc.oneof(notAString).map((id) => (doc: Doc) => {
    (doc.data as Doc).id = id ?? 0;
    return doc;
  }),
];

const productPoisons: fc.Arbitrary<Poison>[] = [
  fc.tuple(fc.constantFrom("name", "description"), notAString).map(([field, value]) => (doc) => {
    attrs(doc)[field] = value;
    return doc;
  }),
  badPrice.map((price) => (doc) => (attrs(doc).price = price, doc)),
  fc.integer({ min: 256, max: 5000 }).map((n) => (doc) => {
    attrs(doc).name = "n".repeat(n);
    return doc;
  }),
  fc.integer({ min: 10_001, max: 200_000 }).map((n) => (doc) => {
    attrs(doc).description = "d".repeat(n);
    return doc;
  }),
  fc.constantFrom("", "a\u0000b", "x\ud800y", "\udc00").map((name) => (doc) => {
    attrs(doc).name = name;
    return doc;
  }),
  fc.constantFrom("name", "description", "price").map((field) => (doc) => {
    delete attrs(doc)[field];
    // PATCH accepts partial attributes: make sure something else is wrong then too.
    attrs(doc).price = -1;
    return doc;
  }),
];

const stockPoisons: fc.Arbitrary<Poison>[] = [
  badInteger.map((q) => (doc) => (attrs(doc).quantity = q, doc)),
  badInteger.map((d) => (doc) => {
    delete attrs(doc).quantity;
    attrs(doc).quantity_delta = d;
    return doc;
  }),
  fc.constant((doc: Doc) => {
    attrs(doc).quantity_delta = 1;
    attrs(doc).quantity = 1;
    return doc;
  }),
  fc.oneof(notAString, fc.constantFrom(...SQL, "", "not-a-uuid")).map((id) => (doc) => {
    attrs(doc).product_id = id;
    return doc;
  }),
  fc.constant((doc: Doc) => {
    delete attrs(doc).quantity;
    delete attrs(doc).quantity_delta;
    return doc;
  }),
];

function poisoned(base: fc.Arbitrary<Doc>, poisons: fc.Arbitrary<Poison>[]) {
  return fc.tuple(base, fc.array(fc.oneof(...poisons), { minLength: 1, maxLength: 3 }))
    .map(([doc, list]) =>
      list.reduce((d, poison, i) => {
        // The first poison meets an intact document; a later one may find the structure already
        // broken by an earlier one (data: null, …), and then the document is poisoned anyway.
        if (i === 0) return poison(d);
        try {
          return poison(structuredClone(d));
        } catch {
          return d;
        }
      }, structuredClone(doc))
    );
}

// ---------------------------------------------------------------------------------- targets

/** Ids that name nothing: unknown UUIDs and malformed ones, raw in the path. */
const MALFORMED_IDS = [
  "1' OR '1'='1",
  "%27%20OR%20%271%27%3D%271",
  "..%2F..%2Fhealth",
  "%2e%2e",
  "%00",
  "%FF%FE",
  "%E0%A4%A",
  "%",
  "null",
  "undefined",
  "__proto__",
  "constructor",
  "%7B%22%24ne%22%3Anull%7D",
  "00000000-0000-0000-0000-00000000000g",
  "00000000-0000-0000-0000-0000000000000",
  "x".repeat(5000),
  "%F0%9D%95%8F",
  "1;DROP TABLE products",
  "*",
  "-1",
  "1e309",
];

const absentId = fc.oneof(
  fc.uuid().map((id) => id),
  fc.uuid().map((id) => id.toUpperCase()),
  fc.constantFrom(...MALFORMED_IDS),
  fc.string({ unit: "binary", minLength: 1, maxLength: 20 }).map((id) => {
    try {
      return encodeURIComponent(id);
    } catch {
      return "%ED%A0%80"; // a lone surrogate, as UTF-8 no decoder accepts
    }
  }),
);

const UNKNOWN_ROUTES = [
  "/",
  "/Products",
  "/products/",
  "/inventory/",
  "/products/x/y",
  "/inventory//",
  "/.env",
  "/admin",
  "/health/../products",
  "/products/%2e%2e/health",
  "/products;x=1",
  "/inventory%00",
  "/api/products",
  "/openapi.json/x",
];

const BAD_QUERIES = [
  "page[number]=0",
  "page[number]=-1",
  "page[number]=abc",
  "page[number]=1e3",
  "page[number]=99999999999999999999",
  "page[size]=0",
  "page[size]=101",
  "page[size]=1.5",
  "page[size]=1&page[size]=2",
  "page=1",
  "page[]=1",
  "sort=;DROP%20TABLE%20products",
  "sort=-name,,price",
  "sort=password",
  "sort=name%00",
  "filter[name]=%27%20OR%20%271%27%3D%271",
  "filter[name]=%00",
  "filter[name]=" + "n".repeat(300),
  "filter[min_price]=%7B%22%24gt%22%3A%22%22%7D",
  "filter[min_price]=-1",
  "filter[max_price]=1e309",
  "filter[max_quantity]=-1",
  "filter[max_quantity]=1.5",
  "filter[max_quantity][$ne]=1",
  "filter[$where]=1",
  "filter[unknown]=1",
  "fields[products]=password",
  "fields[inventory]=secret",
  "fields[users]=name",
  "include=product.secret",
  "include=__proto__",
  "__proto__[admin]=1",
  "constructor[prototype][admin]=1",
  "a[b][c]=1",
  "%FF=1",
  "q=%FF%FE",
  "%00=1",
  "=1",
  "&&&",
  "page[number]=1&page[number]=1",
];

const goodishQuery = fc.oneof(
  fc.constant(""),
  fc.constantFrom(...BAD_QUERIES),
  fc.array(fc.constantFrom(...BAD_QUERIES), { minLength: 1, maxLength: 3 }).map((q) => q.join("&")),
  fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })).map(([k, v]) =>
    `${encodeURIComponent(k)}=${encodeURIComponent(v)}`
  ),
);

/** Header values fetch can carry (Latin-1, no CR/LF), hostile all the same. */
const headerJunk = fc.oneof(
  fc.constantFrom("", " ", "x".repeat(300), "ÿþ", "../..", "'; DROP TABLE x; --", "\t"),
  // deno-lint-ignore no-control-regex
  fc.string({ unit: "binary-ascii", maxLength: 20 }).map((s) => s.replace(/[\x00-\x1f\x7f]/g, "")),
);

// ---------------------------------------------------------------------------------- bodies

const encoder = new TextEncoder();

/** Raw bytes that are not UTF-8, spliced into a text. */
const INVALID_UTF8 = [
  [0xff],
  [0xfe, 0xff],
  [0xc0, 0xaf],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0x80],
  [0xc3],
  [0xf4, 0x90, 0x80, 0x80],
];

function splice(text: string, at: number, bytes: number[]): Uint8Array {
  const raw = encoder.encode(text);
  const i = Math.min(at, raw.length);
  const out = new Uint8Array(raw.length + bytes.length);
  out.set(raw.subarray(0, i));
  out.set(bytes, i);
  out.set(raw.subarray(i), i + bytes.length);
  return out;
}

const DEEP_ARRAYS = '{"data":' + "[".repeat(100_000) + "]".repeat(100_000) + "}";
const DEEP_OBJECTS = '{"data":' + '{"a":'.repeat(50_000) + "1" + "}".repeat(50_000) + "}";

/** Turns a (poisoned) document into a body: as JSON, or broken in some way. */
function bodyOf(doc: Doc) {
  const json = JSON.stringify(doc);
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant<HostileRequest["body"]>(json) },
    // truncated: never valid JSON
    fc.integer({ min: 0, max: Math.max(0, json.length - 1) }).map((n) => json.slice(0, n)),
    // garbage around or instead of it
    fc.constantFrom(
      json + "}",
      json + json,
      "{" + json,
      json.replace(/"/, "'"),
      json.replaceAll(":", "="),
      "null",
      "[]",
      '"data"',
      "",
      " ",
      "{}",
      '{"data":{}}',
      '{"data":{"type":"products"}',
      "\ufeff" + json.replace(/^\{/, "[{"),
      "NaN",
      DEEP_ARRAYS,
      DEEP_OBJECTS,
      json.replace('"data"', '"__proto__"'),
      json.replace('"data"', '"data","data":null'),
    ),
  );
}

// -------------------------------------------------------------------------------- requests

export function requests(known: Known, family: string) {
  const productBase = validProductAttributes.map((a): Doc => ({
    data: { type: "products", attributes: { ...a } },
  }));
  const stockBase = (productId: string, patch: boolean) =>
    fc.integer({ min: 0, max: 50 }).map((n): Doc => ({
      data: {
        type: "inventory",
        ...(patch ? { id: productId } : {}),
        attributes: patch ? { quantity_delta: -n } : { product_id: productId, quantity: n },
      },
    }));
  const anyKnown = fc.constantFrom(...known.stocked, known.bare);
  const target = fc.oneof(anyKnown, absentId);
  const productDoc = poisoned(productBase, [...commonPoisons("products"), ...productPoisons]);
  const stockCreateDoc = fc.constantFrom(...known.stocked, known.bare, crypto.randomUUID())
    .chain((id) =>
      poisoned(stockBase(id, false), [...commonPoisons("inventory"), ...stockPoisons])
    );

  /** One write request: a poisoned document to a create or update route. */
  const write = fc.oneof(
    productDoc.map((doc) => ({
      service: "products" as Service,
      method: "POST",
      path: "/products",
      doc,
    })),
    fc.tuple(target, productBase).chain(([id, base]) =>
      poisoned(
        fc.constant({ data: { ...(base.data as Doc), id: decodeURIComponentSafe(id) } }),
        [...commonPoisons("products"), ...productPoisons],
      ).map((doc) => ({
        service: "products" as Service,
        method: "PATCH",
        path: `/products/${id}`,
        doc,
      }))
    ),
    stockCreateDoc.map((doc) => ({
      service: "inventory" as Service,
      method: "POST",
      path: "/inventory",
      doc,
    })),
    target.chain((id) =>
      poisoned(stockBase(decodeURIComponentSafe(id), true), [
        ...commonPoisons("inventory"),
        ...stockPoisons,
      ])
        .map((doc) => ({
          service: "inventory" as Service,
          method: "PATCH",
          path: `/inventory/${id}`,
          doc,
        }))
    ),
  );

  const json = { "Content-Type": JSONAPI };
  switch (family) {
    case "malformed bodies":
      return write.chain((w) =>
        bodyOf(w.doc).map((body): HostileRequest => ({
          service: w.service,
          method: w.method,
          path: w.path,
          headers: json,
          body,
          family,
        }))
      );
    case "poisoned documents":
      return write.map((w): HostileRequest => ({
        service: w.service,
        method: w.method,
        path: w.path,
        headers: json,
        body: JSON.stringify(w.doc),
        family,
      }));
    case "media types and oversize bodies":
      return fc.tuple(
        write,
        fc.constantFrom(
          JSONAPI,
          "application/json",
          "text/plain",
          "",
          "application/vnd.api+json; charset=utf-8",
          'application/vnd.api+json;ext="https://x"',
          'application/vnd.api+json; profile="https://x"',
          "APPLICATION/VND.API+JSON",
          "application/vnd.api+json, application/json",
          "multipart/form-data; boundary=x",
          "application/x-www-form-urlencoded",
          "application/vnd.api+json\t;",
          "*/*",
        ),
        fc.constantFrom(
          undefined,
          "application/vnd.api+json; ext=x",
          "application/vnd.api+json;q=0.5;charset=x",
          "text/html",
          "*/*",
          "application/vnd.api+json; profile=x, application/vnd.api+json; ext=y",
        ),
        fc.constantFrom<"no" | "length" | "chunked">("no", "no", "length", "chunked"),
        fc.integer({ min: 1, max: 64 * 1024 }),
      ).map(([w, contentType, accept, oversize, extra]): HostileRequest => {
        const headers: Record<string, string> = {};
        if (contentType) headers["Content-Type"] = contentType;
        if (accept) headers["Accept"] = accept;
        let body: HostileRequest["body"] = JSON.stringify(w.doc);
        if (oversize !== "no") {
          // Over 1 MiB whatever the document, and invalid under any limit: a description of a
          // megabyte (over the 10 000 products allow; an unknown attribute for inventory).
          const data = w.doc.data;
          const original = typeof data === "object" && data !== null && !Array.isArray(data)
            ? data as Doc
            : {};
          const attributes = typeof original.attributes === "object" && original.attributes
            ? original.attributes
            : {};
          const big = {
            data: {
              ...original,
              type: original.type ?? w.service,
              attributes: { ...attributes, description: "D".repeat(MIB + extra) },
            },
          };
          const bytes = encoder.encode(JSON.stringify(big));
          body = oversize === "length" ? bytes : { chunked: bytes };
        }
        return { service: w.service, method: w.method, path: w.path, headers, body, family };
      });
    case "ids, queries, methods, routes":
      return fc.oneof(
        // reads with hostile queries on every route (these may succeed: they change nothing)
        fc.tuple(
          fc.constantFrom<Service>("products", "inventory"),
          fc.oneof(fc.constant(""), anyKnown.map((id) => `/${id}`), absentId.map((id) => `/${id}`)),
          goodishQuery,
        ).map(([service, tail, q]): HostileRequest => ({
          service,
          method: "GET",
          path: `/${service}${tail}${q ? `?${q}` : ""}`,
          headers: {},
          family,
        })),
        // deletes of what does not exist
        fc.tuple(fc.constantFrom<Service>("products", "inventory"), absentId, goodishQuery).map((
          [service, id, q],
        ): HostileRequest => ({
          service,
          method: "DELETE",
          path: `/${service}/${id}${q ? `?${q}` : ""}`,
          headers: { "Content-Type": "text/plain" },
          body: "ignored",
          family,
        })),
        // writes with hostile queries, ids and headers
        fc.tuple(write, goodishQuery, headerJunk, headerJunk).map((
          [w, q, requestId, key],
        ): HostileRequest => ({
          service: w.service,
          method: w.method,
          path: `${w.path}${q ? `?${q}` : ""}`,
          headers: {
            ...json,
            "X-Request-ID": requestId,
            // An Idempotency-Key the service must refuse before storing anything.
            ...(w.service === "inventory" ? { "Idempotency-Key": `idem ÿ${key}` } : {}),
          },
          body: JSON.stringify(w.doc),
          family,
        })),
        // methods no route has, and routes nobody has
        fc.tuple(
          fc.constantFrom<Service>("products", "inventory"),
          fc.constantFrom("PUT", "OPTIONS", "PROPFIND", "FOO", "GET", "POST", "PATCH", "DELETE"),
          fc.oneof(
            fc.constantFrom(...UNKNOWN_ROUTES),
            fc.constantFrom("/products", "/inventory").chain((r) =>
              fc.oneof(fc.constant(r), absentId.map((id) => `${r}/${id}`))
            ),
          ),
          fc.option(productDoc, { nil: undefined }),
        ).filter(([, method, route]) => !isWritableRoute(method, route)).map((
          [service, method, route, doc],
        ): HostileRequest => ({
          service,
          method,
          path: route,
          headers: json,
          body: doc && method !== "GET" ? JSON.stringify(doc) : undefined,
          family,
        })),
      );
    case "invalid UTF-8":
      return fc.oneof(
        // an otherwise valid document: the bytes sit inside the name string
        fc.tuple(
          validProductAttributes,
          fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 10 }),
          fc.constantFrom(...INVALID_UTF8),
          fc.nat({ max: 10 }),
        ).map(([a, text, bytes, at]): HostileRequest => {
          const name = text.replace(/[^A-Za-z0-9 ]/g, "x");
          const json = JSON.stringify({
            data: { type: "products", attributes: { ...a, name: "@" + name } },
          });
          const nameAt = json.indexOf('"@') + 2 + Math.min(at, name.length);
          return {
            service: "products",
            method: "POST",
            path: "/products",
            headers: { "Content-Type": JSONAPI },
            body: splice(json, nameAt, bytes),
            family,
          };
        }),
        // a poisoned document with the bytes anywhere
        write.chain((w) => {
          const json = JSON.stringify(w.doc);
          return fc.tuple(fc.nat({ max: json.length }), fc.constantFrom(...INVALID_UTF8)).map((
            [at, bytes],
          ): HostileRequest => ({
            service: w.service,
            method: w.method,
            path: w.path,
            headers: { "Content-Type": JSONAPI },
            body: splice(json, at, bytes),
            family,
          }));
        }),
      );
  }
  throw new Error(family);
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Routes where a request could succeed (real ids, real methods): excluded from the route fuzz. */
function isWritableRoute(method: string, route: string): boolean {
  if (method === "GET") return false;
  return route === "/products" || route === "/inventory" ||
    /^\/(products|inventory)\/[^/]+$/.test(route);
}

// --------------------------------------------------------------------------------- running

const FAMILIES: { name: string; runs: number }[] = [
  { name: "malformed bodies", runs: 450 },
  { name: "poisoned documents", runs: 650 },
  { name: "media types and oversize bodies", runs: 300 },
  { name: "ids, queries, methods, routes", runs: 600 },
  { name: "invalid UTF-8", runs: 60 },
];

async function send(base: Record<Service, string>, req: HostileRequest): Promise<CallResult> {
  let body: string | Uint8Array | ReadableStream<Uint8Array> | undefined;
  if (req.body instanceof Uint8Array || typeof req.body === "string") body = req.body;
  else if (req.body) {
    const bytes = req.body.chunked;
    body = new ReadableStream({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 64 * 1024) {
          controller.enqueue(bytes.subarray(i, i + 64 * 1024));
        }
        controller.close();
      },
    });
  }
  return await call(base[req.service], req.path, {
    method: req.method,
    headers: req.headers,
    body,
    timeoutMs: 15_000,
  });
}

function describe(req: HostileRequest): string {
  const body = req.body === undefined
    ? ""
    : typeof req.body === "string"
    ? req.body.slice(0, 200)
    : req.body instanceof Uint8Array
    ? `<${req.body.length} bytes> ${new TextDecoder().decode(req.body.subarray(0, 200))}`
    : `<chunked ${req.body.chunked.length} bytes>`;
  return `${req.service} ${req.method} ${req.path.slice(0, 150)} ${
    JSON.stringify(req.headers)
  } ${body}`;
}

/** Why the answer breaks the rules, or null. */
function verdict(req: HostileRequest, r: CallResult): string | null {
  if (r.status === 0) return `no answer (${r.error})`;
  if (r.status >= 500) return `a ${r.status}`;
  if (r.status < 400) {
    if (req.method !== "GET") return `a ${r.status} to a request that cannot succeed`;
    return null;
  }
  return errorDocumentProblem(r);
}

Deno.test({
  name: "reliability: hostile input never gets a 5xx and changes nothing",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const stores = await createStores("hostile");
    let products: RunningService | undefined;
    let inventory: RunningService | undefined;
    try {
      products = await startService("products", productsEnv(stores));
      inventory = await startService("inventory", inventoryEnv(stores, products.url));
      const base = { products: products.url, inventory: inventory.url };
      const stocked = await Promise.all(
        [1, 2, 3].map((n) => createProduct(products!.url, `k${n}`)),
      );
      for (const id of stocked) await createStock(inventory.url, id, 7);
      const bare = await createProduct(products.url, "no stock");
      const known: Known = { stocked, bare };
      const snapshot = async () =>
        JSON.stringify([
          await listAll(base.products, "/products"),
          await listAll(base.inventory, "/inventory"),
        ]);
      let total = 0;

      for (const [index, family] of FAMILIES.entries()) {
        await t.step(family.name, async () => {
          const before = await snapshot();
          const statuses: number[] = [];
          let sent = 0;
          let result: CallResult | undefined;
          const property = fc.asyncProperty(requests(known, family.name), async (req) => {
            result = await send(base, req);
            sent++;
            statuses.push(result.status);
            const problem = verdict(req, result);
            if (problem) {
              throw new Error(`${problem}\n  request: ${describe(req)}\n  answer: ${show(result)}`);
            }
          });
          let failure: unknown;
          try {
            await fc.assert(property, {
              seed: SEED + index,
              numRuns: family.runs,
              interruptAfterTimeLimit: 60_000,
            });
          } catch (err) {
            failure = err;
          }
          const after = await snapshot();
          total += sent;
          const line = {
            seed: SEED + index,
            requests: sent,
            statuses: countBy(statuses, (s) => s),
            stores_unchanged: after === before,
          };
          figures(`4 hostile ${family.name}`, line);
          if (failure) throw failure;
          assert.equal(after, before, "the listings of both stores changed");
        });
      }
      figures("4 hostile total", { seed: SEED, requests: total });
      assert.ok(total >= 2000, `at least 2000 requests (${total})`);
    } finally {
      try {
        await stopAll([inventory, products]);
      } finally {
        await stores.drop();
      }
    }
  },
});

import assert from "node:assert/strict";
import {
  adjust,
  API_KEY,
  assertErrorDocument,
  assertNoSecretsInLogs,
  call,
  type CallResult,
  countBy,
  createProduct,
  createStock,
  createStores,
  figures,
  ignore,
  inventoryEnv,
  listAll,
  product,
  productsEnv,
  type RunningService,
  show,
  startService,
  stopAll,
} from "./support.ts";

/**
 * Case 5: every route × every way of getting the key wrong is a 401 (and changes nothing), except
 * the open routes; the right key in an odd header case is accepted; no process logs the key.
 */

/** Each one character off the real key: changed, dropped, added. */
const NEAR_MISSES = [
  API_KEY.slice(0, -1) + (API_KEY.endsWith("0") ? "1" : "0"),
  API_KEY.slice(0, -1),
  API_KEY + "x",
  (API_KEY[0] === "r" ? "R" : "r") + API_KEY.slice(1),
];

interface Variant {
  name: string;
  headers: Record<string, string>;
  /** Whether the request must get past authentication. */
  accepted: boolean;
}

const VARIANTS: Variant[] = [
  { name: "no key", headers: {}, accepted: false },
  { name: "empty", headers: { "X-API-Key": "" }, accepted: false },
  { name: "wrong", headers: { "X-API-Key": "not-the-key-0123456789abcdef" }, accepted: false },
  ...NEAR_MISSES.map((key, i) => ({
    name: `one off #${i + 1}`,
    headers: { "X-API-Key": key },
    accepted: false,
  })),
  { name: "right key, header x-API-key", headers: { "x-API-key": API_KEY }, accepted: true },
  { name: "right key, header X-API-KEY", headers: { "X-API-KEY": API_KEY }, accepted: true },
];

interface Route {
  service: "products" | "inventory";
  method: string;
  path: string;
  /** For a rejected key: a body that would succeed with the right key. */
  body?: unknown;
  /** For the accepted key: a harmless request on the same route (nothing may change). */
  harmless?: { path?: string; body?: unknown };
}

Deno.test({
  name: "reliability: authentication on every route",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const stores = await createStores("auth");
    let products: RunningService | undefined;
    let inventory: RunningService | undefined;
    try {
      products = await startService("products", productsEnv(stores));
      inventory = await startService("inventory", inventoryEnv(stores, products.url));
      const P = products.url;
      const I = inventory.url;
      const pid = await createProduct(P, "Guarded");
      await createStock(I, pid, 10);
      const spare = await createProduct(P, "Spare, no stock yet");
      const absent = crypto.randomUUID();

      const routes: Route[] = [
        { service: "products", method: "GET", path: "/products" },
        {
          service: "products",
          method: "POST",
          path: "/products",
          body: product("Intruder", 1, crypto.randomUUID()),
          harmless: { body: { data: { type: "products", attributes: { name: "" } } } },
        },
        { service: "products", method: "GET", path: `/products/${pid}` },
        {
          service: "products",
          method: "PATCH",
          path: `/products/${pid}`,
          body: { data: { type: "products", id: pid, attributes: { price: 0 } } },
          harmless: {
            path: `/products/${absent}`,
            body: { data: { type: "products", id: absent, attributes: { price: 0 } } },
          },
        },
        {
          service: "products",
          method: "DELETE",
          path: `/products/${pid}`,
          harmless: { path: `/products/${absent}` },
        },
        { service: "products", method: "PUT", path: "/products" },
        { service: "products", method: "GET", path: "/metrics" },
        { service: "products", method: "GET", path: "/no-such-route" },
        { service: "inventory", method: "GET", path: "/inventory" },
        { service: "inventory", method: "GET", path: `/inventory/${pid}?include=product` },
        {
          service: "inventory",
          method: "POST",
          path: "/inventory",
          body: {
            data: { type: "inventory", attributes: { product_id: spare, quantity: 5 } },
          },
          harmless: {
            body: { data: { type: "inventory", attributes: { product_id: spare, quantity: -1 } } },
          },
        },
        { service: "inventory", method: "GET", path: `/inventory/${pid}` },
        {
          service: "inventory",
          method: "PATCH",
          path: `/inventory/${pid}`,
          body: adjust(pid, -10),
          harmless: { path: `/inventory/${absent}`, body: adjust(absent, -1) },
        },
        {
          service: "inventory",
          method: "DELETE",
          path: `/inventory/${pid}`,
          harmless: { path: `/inventory/${absent}` },
        },
        { service: "inventory", method: "PUT", path: `/inventory/${pid}` },
        { service: "inventory", method: "GET", path: "/metrics" },
        { service: "inventory", method: "GET", path: "/no-such-route" },
      ];
      const open = ["/health", "/health/ready", "/openapi.json", "/docs"];
      const base = { products: P, inventory: I };

      const productsBefore = await listAll(P, "/products");
      const inventoryBefore = await listAll(I, "/inventory");

      const results: { variant: string; route: string; r: CallResult; accepted: boolean }[] = [];
      for (const variant of VARIANTS) {
        for (const route of routes) {
          const target = variant.accepted ? route.harmless ?? {} : route;
          const r = await call(base[route.service], target.path ?? route.path, {
            method: route.method,
            key: null,
            headers: variant.headers,
            body: target.body ?? (variant.accepted ? undefined : route.body),
          });
          results.push({
            variant: variant.name,
            route: `${route.service} ${route.method} ${route.path}`,
            r,
            accepted: variant.accepted,
          });
        }
        for (const service of ["products", "inventory"] as const) {
          for (const path of open) {
            const r = await call(base[service], path, { key: null, headers: variant.headers });
            results.push({
              variant: variant.name,
              route: `${service} open ${path}`,
              r,
              accepted: true,
            });
          }
        }
      }

      const productsAfter = await listAll(P, "/products");
      const inventoryAfter = await listAll(I, "/inventory");
      const rejected = results.filter((x) => !x.accepted);
      const accepted = results.filter((x) => x.accepted);
      const logLines = await assertNoSecretsInLogs([products, inventory], [
        API_KEY,
        ...NEAR_MISSES,
      ]);
      figures("5 auth", {
        requests: results.length,
        routes: routes.length,
        open_routes: open.length * 2,
        variants: VARIANTS.length,
        rejected_statuses: countBy(rejected, (x) => x.r.status),
        accepted_statuses: countBy(accepted, (x) => x.r.status),
        log_lines_checked: logLines,
        store_unchanged: JSON.stringify(productsAfter) === JSON.stringify(productsBefore) &&
          JSON.stringify(inventoryAfter) === JSON.stringify(inventoryBefore),
      });

      for (const x of rejected) {
        assert.equal(x.r.status, 401, `${x.variant}: ${x.route}: ${show(x.r)}`);
        assertErrorDocument(x.r);
        assert.equal(x.r.doc.errors[0].code, "unauthorized", show(x.r));
      }
      for (const x of accepted) {
        assert.ok(
          x.r.status !== 401 && x.r.status > 0 && x.r.status < 500,
          `${x.variant}: ${x.route} must pass authentication: ${show(x.r)}`,
        );
        if (x.route.includes(" open ")) assert.equal(x.r.status, 200, show(x.r));
      }
      assert.deepEqual(productsAfter, productsBefore, "no product changed");
      assert.deepEqual(inventoryAfter, inventoryBefore, "no stock changed");
    } finally {
      try {
        await stopAll([inventory, products]);
      } finally {
        await stores.drop();
      }
    }
  },
});

import assert from "node:assert/strict";
import { until } from "../support/until.ts";
import { request, startService, waitForLog } from "./services.ts";

const IN_FLIGHT = 20;
const PRODUCTS_DELAY_MS = 1500;

Deno.test({
  name: "inventory finishes every in-flight request after SIGTERM, then exits 0",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // A products stand-in that holds each answer, so the requests are provably in flight inside
    // inventory when the signal arrives.
    let received = 0;
    const products = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (req) => {
        const id = new URL(req.url).pathname.split("/").pop()!;
        if (id === "health") return new Response(null, { status: 200 });
        received++;
        await new Promise((resolve) => setTimeout(resolve, PRODUCTS_DELAY_MS));
        return Response.json({ data: { type: "products", id, attributes: {} } });
      },
    );
    const inventory = await startService("inventory", {
      PRODUCTS_SERVICE_URL: `http://127.0.0.1:${products.addr.port}`,
    });
    try {
      const ids = Array.from({ length: IN_FLIGHT }, () => crypto.randomUUID());
      const inFlight = ids.map((id) =>
        request(inventory.url, "/inventory", {
          method: "POST",
          body: { data: { type: "inventory", attributes: { product_id: id, quantity: 1 } } },
        })
      );
      await until(() => received >= IN_FLIGHT, "the requests to reach products", 10_000, 10);
      assert.equal(received, IN_FLIGHT, "every request reached products before the signal");
      const stopped = inventory.stop(); // SIGTERM now; asserts exit code 0
      const answers = await Promise.all(inFlight);
      await stopped;
      const statuses = answers.map((a) => a.status);
      console.log(
        `shutdown: ${IN_FLIGHT} in flight at SIGTERM, statuses ${[...new Set(statuses)]}`,
      );
      assert.deepEqual(statuses, ids.map(() => 201), "no in-flight request failed");
      await waitForLog(inventory, (l) => l.message === "server.draining");
      await waitForLog(inventory, (l) => l.message === "server.stopped");
    } finally {
      await inventory.stop();
      await products.shutdown();
    }
  },
});

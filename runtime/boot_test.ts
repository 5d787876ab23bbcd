import assert from "node:assert/strict";
import { boot, portFromEnv, type StartedService } from "./boot.ts";
import { commonEnv, parseEnv } from "./config.ts";

Deno.test("portFromEnv() reads PORT exactly as the configuration parser does", () => {
  for (const raw of [undefined, "", "8080", "1", "65535", "0", "65536", "abc", " 8003", "80.5"]) {
    const env = raw === undefined ? {} : { PORT: raw };
    let expected: number | undefined;
    try {
      expected = parseEnv(commonEnv, env, 8002).common.port;
    } catch {
      expected = undefined;
    }
    assert.equal(portFromEnv(env, 8002), expected, `PORT=${JSON.stringify(raw)}`);
  }
  assert.equal(portFromEnv({}, 8001), 8001);
});

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

Deno.test("boot() answers liveness while the service starts, then hands every request to it", async () => {
  const port = freePort();
  const lines: Record<string, unknown>[] = [];
  let finishStart!: (service: StartedService) => void;
  const server = boot({
    name: "products",
    defaultPort: 8001,
    env: { PORT: String(port) },
    signals: false,
    start: () => new Promise((resolve) => finishStart = resolve),
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    const live = await fetch(`${base}/health`, { headers: { "X-Request-ID": "probe-1" } });
    assert.equal(live.status, 200);
    assert.equal(live.headers.get("content-type"), "application/vnd.api+json");
    assert.equal(live.headers.get("x-request-id"), "probe-1");
    assert.deepEqual(await live.json(), { meta: { status: "ok", service: "products" } });

    const ready = await fetch(`${base}/health/ready`);
    assert.equal(ready.status, 503);
    assert.equal((await ready.json()).meta.status, "starting");
    assert.match(ready.headers.get("x-request-id")!, /^[0-9a-f-]{36}$/);

    // Anything else waits for the service rather than failing.
    let answered = false;
    const pending = fetch(`${base}/products/1`).then((res) => {
      answered = true;
      return res;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(answered, false);

    finishStart({
      port,
      fetch: (req) => new Response(`served ${new URL(req.url).pathname}`),
      log: {
        info: (fields, message) => void lines.push({ ...fields, message }),
        warn: (fields, message) => void lines.push({ ...fields, message }),
        error: (fields, message) => void lines.push({ ...fields, message }),
      },
      flush: () => Promise.resolve(),
      onClose: () => Promise.resolve(),
    });
    assert.equal(await (await pending).text(), "served /products/1");
    assert.equal(await (await fetch(`${base}/health/ready`)).text(), "served /health/ready");

    // The requests answered while starting are logged once the logger exists.
    const early = lines.filter((l) => l.message === "request completed");
    assert.deepEqual(early.map((l) => [l.request_id === "probe-1", l.path, l.status]), [
      [true, "/health", 200],
      [false, "/health/ready", 503],
    ]);
    assert.ok(lines.some((l) => l.message === "server.listening" && l.port === port));
    assert.equal(server.draining(), false);
  } finally {
    await server.close();
  }
});

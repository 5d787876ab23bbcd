import assert from "node:assert/strict";
import { accessLogWriter, createLogger } from "./logger.ts";

Deno.test("createLogger() writes the seed's JSON line format", () => {
  const lines: string[] = [];
  const logger = createLogger("products", { destination: { write: (l) => void lines.push(l) } });
  logger.child({ request_id: "r-1" }).warn({ product_id: "p-1" }, "cache.unavailable");
  const line = JSON.parse(lines[0]!);
  assert.deepEqual(Object.keys(line).sort(), [
    "level",
    "message",
    "product_id",
    "request_id",
    "service",
    "timestamp",
  ]);
  assert.equal(line.level, "WARN");
  assert.equal(line.service, "products");
  assert.equal(line.message, "cache.unavailable");
  assert.match(line.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(lines[0]!.endsWith("\n"), true);
  assert.equal(lines.length, 1);
});

Deno.test("createLogger() never carries one line's fields into the next", () => {
  const lines: string[] = [];
  const logger = createLogger("x", { destination: { write: (l) => void lines.push(l) } });
  logger.info({ a: 1 }, "first");
  logger.info({}, "second");
  assert.equal(JSON.parse(lines[1]!).a, undefined);
});

Deno.test("createLogger() hides secrets even if a caller logs them", () => {
  const lines: string[] = [];
  const logger = createLogger("x", { destination: { write: (l) => void lines.push(l) } });
  logger.info({ api_key: "s3cret", headers: { "x-api-key": "s3cret" } }, "oops");
  assert.ok(!lines[0]!.includes("s3cret"));
});

Deno.test("createLogger() adds trace_id and span_id when OTEL_DENO has a span active", async () => {
  const script = `
    import { trace } from "@opentelemetry/api";
    import { createLogger } from "${new URL("./logger.ts", import.meta.url)}";
    const logger = createLogger("t", { destination: { write: (l) => console.log(l.trim()) } });
    trace.getTracer("test").startActiveSpan("work", (span) => {
      logger.info({}, "inside");
      span.end();
    });
    logger.info({}, "outside");`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", new URL("../deno.json", import.meta.url).pathname, script],
    // The exporter's default endpoint is loopback; nothing needs to listen there.
    env: { OTEL_DENO: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => JSON.parse(l));
  const inside = lines.find((l) => l.message === "inside");
  const outside = lines.find((l) => l.message === "outside");
  assert.match(inside.trace_id, /^[0-9a-f]{32}$/);
  assert.match(inside.span_id, /^[0-9a-f]{16}$/);
  assert.equal(outside.trace_id, undefined);
});

Deno.test("accessLogWriter() writes the line pino would, byte for byte", () => {
  for (const level of ["info", "error", "silent"]) {
    const fast: string[] = [];
    const slow: string[] = [];
    const viaTemplate = accessLogWriter(
      createLogger("products", { level, destination: { write: (l) => void fast.push(l) } }),
    );
    const viaPino = createLogger("products", {
      level,
      destination: { write: (l) => void slow.push(l) },
    });
    for (
      const line of [
        { request_id: "r-1", method: "GET", path: "/products/1", status: 200, duration_ms: 1.25 },
        {
          request_id: 'tricky "id" \\ é',
          method: "PATCH",
          path: "/p/\u0001/ü",
          status: 404,
          duration_ms: 0,
        },
        { request_id: "r-3", method: "GET", path: "/health", status: 503, duration_ms: 12.5 },
      ]
    ) {
      viaTemplate(line);
      if (line.status >= 500) viaPino.error(line, "request completed");
      else viaPino.info(line, "request completed");
    }
    const withoutTime = (l: string) => l.replace(/"timestamp":"[^"]+"/, "");
    assert.deepEqual(fast.map(withoutTime), slow.map(withoutTime), level);
  }
});

Deno.test("accessLogWriter() carries trace_id and span_id as pino does when a span is active", async () => {
  const script = `
    import { trace } from "@opentelemetry/api";
    import { accessLogWriter, createLogger } from "${new URL("./logger.ts", import.meta.url)}";
    const logger = createLogger("t", { destination: { write: (l) => console.log(l.trim()) } });
    const access = accessLogWriter(logger);
    const line = { request_id: "r", method: "GET", path: "/x", status: 200, duration_ms: 1 };
    trace.getTracer("test").startActiveSpan("work", (span) => {
      access(line);
      logger.info(line, "request completed");
      span.end();
    });`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", new URL("../deno.json", import.meta.url).pathname, script],
    env: { OTEL_DENO: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const [fast, slow] = new TextDecoder().decode(out.stdout).trim().split("\n");
  assert.match(fast!, /"trace_id":"[0-9a-f]{32}","span_id":"[0-9a-f]{16}"/);
  const withoutTime = (l: string) => l.replace(/"timestamp":"[^"]+"/, "");
  assert.equal(withoutTime(fast!), withoutTime(slow!));
});

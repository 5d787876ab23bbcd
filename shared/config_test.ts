import assert from "node:assert/strict";
import { ConfigError, DEV_API_KEY, parseConfig } from "./config.ts";

Deno.test("parseConfig() applies the documented defaults", () => {
  const config = parseConfig("products", {});
  assert.equal(config.port, 8001);
  assert.equal(parseConfig("inventory", {}).port, 8002);
  assert.equal(config.apiKey, DEV_API_KEY);
  assert.equal(config.usingDevApiKey, true);
  assert.equal(config.cacheTtlSeconds, 300);
  assert.equal(config.mongodbDb, "inventory");
  assert.equal(config.productsServiceUrl, "http://127.0.0.1:8001");
  assert.equal(config.logLevel, "info");
  assert.equal(config.databaseUrl, undefined);
  assert.equal(config.upstash, undefined);
});

Deno.test("parseConfig() reads every variable", () => {
  const config = parseConfig("inventory", {
    PORT: "9000",
    API_KEY: "a-long-enough-secret-key",
    DATABASE_URL: "postgres://u:p@db:5432/x",
    UPSTASH_REDIS_REST_URL: "https://cache.example",
    UPSTASH_REDIS_REST_TOKEN: "tok",
    CACHE_TTL_SECONDS: "0",
    MONGODB_URL: "mongodb://mongo:27017",
    MONGODB_DB: "stock",
    PRODUCTS_SERVICE_URL: "http://products:8001/",
    LOG_LEVEL: "warn",
    UNRELATED: "ignored",
  });
  assert.equal(config.port, 9000);
  assert.equal(config.usingDevApiKey, false);
  assert.deepEqual(config.upstash, { url: "https://cache.example", token: "tok" });
  assert.equal(config.cacheTtlSeconds, 0);
  assert.equal(config.mongodbUrl, "mongodb://mongo:27017");
  assert.equal(config.productsServiceUrl, "http://products:8001");
  assert.equal(config.logLevel, "warn");
});

Deno.test("parseConfig() names the variable in one line when a value is invalid", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ PORT: "eighty" }, /^Invalid configuration: PORT: /],
    [{ PORT: "70000" }, /^Invalid configuration: PORT: /],
    [{ CACHE_TTL_SECONDS: "-1" }, /^Invalid configuration: CACHE_TTL_SECONDS: /],
    [{ DATABASE_URL: "not a url" }, /^Invalid configuration: DATABASE_URL: /],
    [{ LOG_LEVEL: "loud" }, /^Invalid configuration: LOG_LEVEL: /],
    [{ API_KEY: "short" }, /^Invalid configuration: API_KEY: /],
    [{ UPSTASH_REDIS_REST_URL: "https://x" }, /UPSTASH_REDIS_REST_TOKEN/],
    [{ DENO_ENV: "production" }, /^Invalid configuration: API_KEY: required in production$/],
    [{ DENO_DEPLOYMENT_ID: "abc" }, /API_KEY: required in production/],
    [
      { DENO_DEPLOYMENT_ID: "abc", API_KEY: "a-long-enough-secret-key" },
      /^Invalid configuration: DATABASE_URL: required on Deno Deploy$/,
    ],
  ];
  for (const [env, message] of cases) {
    assert.throws(() => parseConfig("products", env), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, message);
      assert.ok(!err.message.includes("\n"));
      return true;
    });
  }
});

Deno.test("parseConfig() treats empty values as unset and requires a key only in production", () => {
  assert.equal(parseConfig("products", { PORT: "", API_KEY: "" }).port, 8001);
  const prod = parseConfig("products", {
    DENO_ENV: "production",
    API_KEY: "production-secret-123",
  });
  assert.equal(prod.production, true);
  assert.equal(prod.apiKey, "production-secret-123");
});

Deno.test("parseConfig() lets inventory run on Deno Deploy without a database URL (Deno KV)", () => {
  const config = parseConfig("inventory", {
    DENO_DEPLOYMENT_ID: "abc",
    API_KEY: "a-long-enough-secret-key",
  });
  assert.equal(config.production, true);
  assert.equal(config.mongodbUrl, undefined);
});

Deno.test("parseConfig() never echoes a secret in its error", () => {
  assert.throws(
    () => parseConfig("products", { API_KEY: "sh0rt", PORT: "x" }),
    (err: Error) => !err.message.includes("sh0rt"),
  );
});

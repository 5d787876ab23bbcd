import assert from "node:assert/strict";
import { ConfigError, DEV_API_KEY } from "@stockroom/runtime/config";
import { productsConfig } from "./config.ts";

Deno.test("productsConfig() applies the documented defaults", () => {
  const config = productsConfig({});
  assert.equal(config.port, 8001);
  assert.equal(config.apiKey, DEV_API_KEY);
  assert.equal(config.usingDevApiKey, true);
  assert.equal(config.cacheTtlSeconds, 300);
  assert.equal(config.cacheL1TtlSeconds, 2);
  assert.equal(config.logLevel, "info");
  assert.equal(config.databaseUrl, undefined);
  assert.equal(config.upstash, undefined);
});

Deno.test("productsConfig() reads every variable and ignores other services' ones", () => {
  const config = productsConfig({
    PORT: "9000",
    API_KEY: "a-long-enough-secret-key",
    DATABASE_URL: "postgres://u:p@db:5432/x",
    UPSTASH_REDIS_REST_URL: "https://cache.example",
    UPSTASH_REDIS_REST_TOKEN: "tok",
    CACHE_TTL_SECONDS: "0",
    CACHE_L1_TTL_SECONDS: "5",
    LOG_LEVEL: "warn",
    MONGODB_URL: "not even a url: inventory's business",
    UNRELATED: "ignored",
  });
  assert.equal(config.port, 9000);
  assert.equal(config.usingDevApiKey, false);
  assert.equal(config.databaseUrl, "postgres://u:p@db:5432/x");
  assert.deepEqual(config.upstash, { url: "https://cache.example", token: "tok" });
  assert.equal(config.cacheTtlSeconds, 0);
  assert.equal(config.cacheL1TtlSeconds, 5);
  assert.equal(config.logLevel, "warn");
});

Deno.test("productsConfig() names the variable in one line when a value is invalid", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ PORT: "eighty" }, /^Invalid configuration: PORT: /],
    [{ PORT: "70000" }, /^Invalid configuration: PORT: /],
    [{ CACHE_TTL_SECONDS: "-1" }, /^Invalid configuration: CACHE_TTL_SECONDS: /],
    [{ DATABASE_URL: "not a url" }, /^Invalid configuration: DATABASE_URL: /],
    [{ DATABASE_URL: "mongodb://x/y" }, /^Invalid configuration: DATABASE_URL: /],
    [{ LOG_LEVEL: "loud" }, /^Invalid configuration: LOG_LEVEL: /],
    [{ API_KEY: "short" }, /^Invalid configuration: API_KEY: /],
    [{ UPSTASH_REDIS_REST_URL: "https://x" }, /UPSTASH_REDIS_REST_TOKEN/],
    [{ UPSTASH_REDIS_REST_TOKEN: "t" }, /UPSTASH_REDIS_REST_URL/],
    [{ DENO_ENV: "production" }, /^Invalid configuration: API_KEY: required in production$/],
    [{ DENO_DEPLOYMENT_ID: "abc" }, /API_KEY: required in production/],
    [
      { DENO_DEPLOYMENT_ID: "abc", API_KEY: "a-long-enough-secret-key" },
      /^Invalid configuration: DATABASE_URL: required on Deno Deploy$/,
    ],
  ];
  for (const [env, message] of cases) {
    assert.throws(() => productsConfig(env), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, message);
      assert.ok(!err.message.includes("\n"));
      return true;
    });
  }
});

Deno.test("productsConfig() treats empty values as unset and requires a key only in production", () => {
  assert.equal(productsConfig({ PORT: "", API_KEY: "" }).port, 8001);
  const prod = productsConfig({ DENO_ENV: "production", API_KEY: "production-secret-123" });
  assert.equal(prod.usingDevApiKey, false);
  assert.equal(prod.apiKey, "production-secret-123");
});

Deno.test("productsConfig() never echoes a secret in its error", () => {
  assert.throws(
    () => productsConfig({ API_KEY: "sh0rt", PORT: "x" }),
    (err: Error) => !err.message.includes("sh0rt"),
  );
});

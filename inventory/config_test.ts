import assert from "node:assert/strict";
import { ConfigError, DEV_API_KEY } from "@stockroom/runtime/config";
import { inventoryConfig } from "./config.ts";

Deno.test("inventoryConfig() applies the documented defaults", () => {
  const config = inventoryConfig({});
  assert.equal(config.port, 8002);
  assert.equal(config.apiKey, DEV_API_KEY);
  assert.equal(config.mongodbUrl, undefined);
  assert.equal(config.mongodbDb, "inventory");
  assert.equal(config.productsServiceUrl, "http://127.0.0.1:8001");
  assert.equal(config.logLevel, "info");
});

Deno.test("inventoryConfig() reads every variable and ignores other services' ones", () => {
  const config = inventoryConfig({
    PORT: "9000",
    API_KEY: "a-long-enough-secret-key",
    MONGODB_URL: "mongodb://mongo:27017",
    MONGODB_DB: "stock",
    PRODUCTS_SERVICE_URL: "http://products:8001/",
    LOG_LEVEL: "warn",
    DATABASE_URL: "not even a url: products' business",
    CACHE_TTL_SECONDS: "-5",
  });
  assert.equal(config.port, 9000);
  assert.equal(config.usingDevApiKey, false);
  assert.equal(config.mongodbUrl, "mongodb://mongo:27017");
  assert.equal(config.mongodbDb, "stock");
  assert.equal(config.productsServiceUrl, "http://products:8001");
  assert.equal(config.logLevel, "warn");
});

Deno.test("inventoryConfig() names the variable in one line when a value is invalid", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ PORT: "0" }, /^Invalid configuration: PORT: /],
    [{ MONGODB_URL: "postgres://x/y" }, /^Invalid configuration: MONGODB_URL: /],
    [{ MONGODB_DB: "a.b" }, /^Invalid configuration: MONGODB_DB: must be a MongoDB database name$/],
    [{ PRODUCTS_SERVICE_URL: "ftp://x" }, /^Invalid configuration: PRODUCTS_SERVICE_URL: /],
    [{ DENO_ENV: "production" }, /^Invalid configuration: API_KEY: required in production$/],
  ];
  for (const [env, message] of cases) {
    assert.throws(() => inventoryConfig(env), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, message);
      return true;
    });
  }
});

Deno.test("inventoryConfig() lets inventory run on Deno Deploy without a database URL (Deno KV)", () => {
  const config = inventoryConfig({
    DENO_DEPLOYMENT_ID: "abc",
    API_KEY: "a-long-enough-secret-key",
  });
  assert.equal(config.onDeploy, true);
  assert.equal(config.mongodbUrl, undefined);
});

import assert from "node:assert/strict";
import { Redis } from "@upstash/redis";
import { startUpstashGateway, type UpstashGateway } from "./upstash_gateway.ts";

/** The real Redis behind the gateway; scripts/test-backends.sh exports it. Skipped without one. */
const REDIS_URL = Deno.env.get("REDIS_URL");

interface Ctx {
  gw: UpstashGateway;
  redis: Redis;
  /** A key under this test's own prefix; all of them are deleted afterwards. */
  key(name: string): string;
  raw(path: string, body: unknown, opts?: { base64?: boolean; token?: string }): Promise<{
    status: number;
    text: string;
    json: unknown;
  }>;
}

function gatewayTest(name: string, fn: (ctx: Ctx) => Promise<void>, poolSize?: number) {
  Deno.test({ name, ignore: !REDIS_URL }, async () => {
    const gw = await startUpstashGateway({
      port: 0,
      token: "test-token",
      redisUrl: REDIS_URL,
      poolSize,
    });
    const prefix = `ugw-test:${crypto.randomUUID()}:`;
    const redis = new Redis({ url: gw.url, token: gw.token });
    const raw: Ctx["raw"] = async (path, body, opts = {}) => {
      const headers: Record<string, string> = {
        authorization: `Bearer ${opts.token ?? gw.token}`,
        "content-type": "application/json",
      };
      if (opts.base64) headers["upstash-encoding"] = "base64";
      const res = await fetch(gw.url + path, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, text, json: JSON.parse(text) };
    };
    try {
      await fn({ gw, redis, key: (k) => prefix + k, raw });
    } finally {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await gw.close();
    }
  });
}

gatewayTest(
  "client set with ex stores a value with a TTL that get reads and del removes",
  async ({ redis, key }) => {
    const k = key("greeting");
    assert.equal(await redis.set(k, "hello", { ex: 60 }), "OK");
    assert.equal(await redis.get(k), "hello");
    const ttl = await redis.ttl(k);
    assert.ok(ttl > 0 && ttl <= 60, `ttl ${ttl}`);
    assert.equal(await redis.del(k), 1);
    assert.equal(await redis.get(k), null);
  },
);

gatewayTest("client ping answers PONG and incr counts with numbers", async ({ redis, key }) => {
  assert.equal(await redis.ping(), "PONG");
  const k = key("counter");
  assert.equal(await redis.incr(k), 1);
  assert.equal(await redis.incrby(k, 41), 42);
  assert.equal(await redis.get(k), 42);
});

gatewayTest("client pipeline returns one result per command in order", async ({ redis, key }) => {
  const [a, b] = [key("a"), key("b")];
  const results = await redis.pipeline().set(a, "x").incr(b).incr(b).get(a).get(key("missing"))
    .exec();
  assert.deepEqual(results, ["OK", 1, 2, "x", null]);
});

gatewayTest(
  "client pipeline with a failing command rejects naming that command",
  async ({ redis, key }) => {
    const k = key("text");
    await assert.rejects(
      redis.pipeline().set(k, "abc").incr(k).exec(),
      /Command 2 \[ incr \] failed: ERR value is not an integer/,
    );
    assert.equal(await redis.get(k), "abc");
  },
);

gatewayTest("client multi runs its commands as one transaction", async ({ redis, key }) => {
  const k = key("stock");
  const results = await redis.multi().set(k, 10).decrby(k, 3).get(k).exec();
  assert.deepEqual(results, ["OK", 7, 7]);
});

gatewayTest("concurrent client calls each get their own answer", async ({ redis, key }) => {
  const k = key("hits");
  const values = await Promise.all(Array.from({ length: 100 }, () => redis.incr(k)));
  assert.deepEqual([...values].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i + 1));
});

gatewayTest(
  "concurrent raw requests share a small pool and each get their own reply",
  async ({ raw, key }) => {
    const k = key("pooled");
    const replies = await Promise.all(
      Array.from(
        { length: 60 },
        (_, i) =>
          i % 2 === 0
            ? raw("/", ["INCR", k]).then((r) => [(r.json as { result: number }).result])
            : raw("/pipeline", [["INCR", k], ["INCR", k]]).then((r) =>
              (r.json as { result: number }[]).map((x) => x.result)
            ),
      ),
    );
    const values = replies.flat().sort((x, y) => x - y);
    assert.deepEqual(values, Array.from({ length: 90 }, (_, i) => i + 1));
  },
  2,
);

gatewayTest("client stores JSON objects and reads them back as objects", async ({ redis, key }) => {
  const k = key("doc");
  const doc = { sku: "A-1", quantity: 3, tags: ["x", "y"], nested: { ok: true, none: null } };
  await redis.set(k, doc);
  assert.deepEqual(await redis.get(k), doc);
  await redis.hset(key("hash"), { field: { n: 1 } });
  assert.deepEqual(await redis.hget(key("hash"), "field"), { n: 1 });
});

gatewayTest(
  "client round-trips emoji, CJK and control/latin-1 characters in keys and values",
  async ({ redis, key }) => {
    const samples = [
      "🦕 stock",
      "在庫 数量 재고",
      "\u0000\u00ff\u0001\n\r\t",
      "naïve café",
      "OK",
      "",
    ];
    for (const [i, value] of samples.entries()) {
      const k = key(`unicode-🦕-${i}`);
      await redis.set(k, value);
      assert.equal(await redis.get(k), value);
    }
    assert.deepEqual(
      await redis.mget(key("unicode-🦕-0"), key("unicode-🦕-1")),
      samples.slice(0, 2),
    );
  },
);

gatewayTest("nil replies come back as null, also inside arrays", async ({ redis, key }) => {
  assert.equal(await redis.get(key("none")), null);
  assert.equal(await redis.hget(key("none"), "f"), null);
  await redis.set(key("one"), "1-a");
  assert.deepEqual(await redis.mget(key("one"), key("none")), ["1-a", null]);
});

gatewayTest("a redis error reply makes the client throw", async ({ redis, key }) => {
  const k = key("word");
  await redis.set(k, "not-a-number");
  await assert.rejects(redis.incr(k), /ERR value is not an integer or out of range/);
});

gatewayTest("a wrong token makes the client throw and raw fetch get 401", async ({ gw, raw }) => {
  const wrong = new Redis({ url: gw.url, token: "wrong-token" });
  await assert.rejects(wrong.ping(), /Unauthorized/);
  for (const path of ["/", "/pipeline", "/multi-exec"]) {
    const res = await raw(path, [["PING"]], { token: "wrong-token" });
    assert.equal(res.status, 401);
    assert.deepEqual(res.json, { error: "Unauthorized" });
  }
  const noAuth = await fetch(gw.url, { method: "POST", body: '["PING"]' });
  assert.equal(noAuth.status, 401);
  assert.deepEqual(await noAuth.json(), { error: "Unauthorized" });
});

gatewayTest(
  "POST / answers {result} as plain JSON, numbers and booleans sent as strings",
  async ({ raw, key }) => {
    const k = key("plain");
    assert.deepEqual(await raw("/", ["SET", k, 42, "EX", 60]), {
      status: 200,
      text: '{"result":"OK"}',
      json: { result: "OK" },
    });
    assert.deepEqual((await raw("/", ["GET", k])).json, { result: "42" });
    assert.deepEqual((await raw("/", ["INCR", k])).json, { result: 43 });
    await raw("/", ["SET", k, true]);
    assert.deepEqual((await raw("/", ["GET", k])).json, { result: "true" });
    assert.deepEqual((await raw("/", ["GET", key("none")])).json, { result: null });
    assert.deepEqual((await raw("/", ["RPUSH", key("list"), "a", "ü"])).json, { result: 2 });
    assert.deepEqual((await raw("/", ["LRANGE", key("list"), 0, -1])).json, { result: ["a", "ü"] });
  },
);

gatewayTest("POST / answers a redis error with status 400 and {error}", async ({ raw, key }) => {
  await raw("/", ["SET", key("w"), "abc"]);
  for (const base64 of [false, true]) {
    const res = await raw("/", ["INCR", key("w")], { base64 });
    assert.equal(res.status, 400);
    assert.deepEqual(res.json, { error: "ERR value is not an integer or out of range" });
  }
  const bad = await raw("/", { not: "a command" });
  assert.equal(bad.status, 400);
});

gatewayTest(
  "Upstash-Encoding base64 encodes every string but numbers, nulls and errors",
  async ({ raw, key }) => {
    const b64 = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));
    const k = key("enc");
    // A top-level status OK stays as is: the client keeps exactly that string unencoded.
    assert.deepEqual((await raw("/", ["SET", k, "🦕"], { base64: true })).json, { result: "OK" });
    assert.deepEqual((await raw("/", ["GET", k], { base64: true })).json, { result: b64("🦕") });
    assert.deepEqual((await raw("/", ["PING"], { base64: true })).json, { result: b64("PONG") });
    await raw("/", ["SET", key("ok"), "OK"]);
    assert.deepEqual((await raw("/", ["GET", key("ok")], { base64: true })).json, {
      result: "T0s=",
    });
    const pipeline = await raw("/pipeline", [
      ["RPUSH", key("l"), "a", "在"],
      ["LRANGE", key("l"), 0, -1],
      ["MGET", k, key("none")],
      ["INCR", k],
      ["EVAL", "return {'x', {'y', 7}, 'OK'}", 0],
    ], { base64: true });
    assert.equal(pipeline.status, 200);
    assert.deepEqual(pipeline.json, [
      { result: 2 },
      { result: [b64("a"), b64("在")] },
      { result: [b64("🦕"), null] },
      { error: "ERR value is not an integer or out of range" },
      { result: [b64("x"), [b64("y"), 7], b64("OK")] },
    ]);
  },
);

gatewayTest("base64 encoding is binary-safe for bytes that are not UTF-8", async ({ raw, key }) => {
  await raw("/", ["SET", key("src"), "x\u0000"]);
  await raw("/", ["BITOP", "NOT", key("bin"), key("src")]); // 0x87 0xff: invalid UTF-8
  assert.deepEqual((await raw("/", ["GET", key("bin")], { base64: true })).json, {
    result: "h/8=",
  });
});

gatewayTest(
  "/pipeline reports errors per item and never fails the whole request",
  async ({ raw, key }) => {
    const k = key("p");
    const res = await raw("/pipeline", [["SET", k, "v"], ["INCR", k], ["SELECT", 1], ["GET", k]]);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, [
      { result: "OK" },
      { error: "ERR value is not an integer or out of range" },
      { error: "ERR SELECT is not supported by the REST gateway" },
      { result: "v" },
    ]);
  },
);

gatewayTest(
  "/multi-exec runs commands in MULTI/EXEC and reports each result",
  async ({ raw, key }) => {
    const k = key("m");
    const ok = await raw("/multi-exec", [["SET", k, "a"], ["INCR", k], ["APPEND", k, "b"], [
      "GET",
      k,
    ]]);
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json, [
      { result: "OK" },
      { error: "ERR value is not an integer or out of range" },
      { result: 2 },
      { result: "ab" },
    ]);
    // A command Redis refuses to queue discards the whole transaction.
    const aborted = await raw("/multi-exec", [["SET", k, "c"], ["NOSUCHCOMMAND"]]);
    assert.equal(aborted.status, 200);
    const items = aborted.json as { error?: string }[];
    assert.match(items[0]!.error!, /^EXECABORT/);
    assert.match(items[1]!.error!, /unknown command/);
    assert.deepEqual((await raw("/", ["GET", k])).json, { result: "ab" });
  },
);

gatewayTest("integers beyond 2^53 keep every digit in the JSON text", async ({ raw, key }) => {
  await raw("/", ["SET", key("big"), "9007199254740993"]);
  assert.equal((await raw("/", ["INCR", key("big")])).text, '{"result":9007199254740994}');
});

Deno.test("startUpstashGateway rejects when redis cannot be reached", async () => {
  await assert.rejects(
    startUpstashGateway({ port: 0, token: "t", redisUrl: "redis://127.0.0.1:1" }),
    /cannot reach redis/,
  );
});

Deno.test({
  name: "startUpstashGateway rejects a taken port without leaking redis connections",
  ignore: !REDIS_URL,
}, async () => {
  const first = await startUpstashGateway({ port: 0, token: "t", redisUrl: REDIS_URL });
  try {
    const port = Number(new URL(first.url).port);
    await assert.rejects(
      startUpstashGateway({ port, token: "t", redisUrl: REDIS_URL }),
      Deno.errors.AddrInUse,
    );
  } finally {
    await first.close();
  }
});

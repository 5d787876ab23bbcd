import assert from "node:assert/strict";
import { until } from "../tests/support/until.ts";
import { type AttemptInfo, fetchWithRetry, UpstreamUnavailableError } from "./http_client.ts";

/** One scripted answer per request; the last one repeats. */
type Step = number | "hang" | { status: number; retryAfter?: string };

/** A real server on a free port, so retries go through Deno's own fetch and connection pool. */
function _upstream(steps: Step[]) {
  const requests: Headers[] = [];
  const release = Promise.withResolvers<void>();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    async (request) => {
      const step = steps[Math.min(requests.length, steps.length - 1)] ?? 200;
      requests.push(request.headers);
      if (step === "hang") {
        // Held until disposal, which releases it so shutdown() does not wait forever.
        await release.promise;
        return new Response(null, { status: 504 });
      }
      const { status, retryAfter } = typeof step === "number" ? { status: step } : step;
      const headers = retryAfter === undefined ? undefined : { "retry-after": retryAfter };
      return new Response(`answer ${requests.length}: ${status}`, { status, headers });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/products/42`,
    requests,
    [Symbol.asyncDispose]() {
      release.resolve();
      return server.shutdown();
    },
  };
}

function _collectingLogger() {
  const lines: { obj: Record<string, unknown>; msg: string }[] = [];
  const keep = (obj: Record<string, unknown>, msg: string) => void lines.push({ obj, msg });
  return { lines, info: keep, warn: keep, error: keep };
}

// Zero jitter keeps most tests fast; the backoff test pins it the other way.
const FAST = { baseDelayMs: 5, maxDelayMs: 20, random: () => 0 };

Deno.test("fetchWithRetry() returns a 200 after one attempt", async () => {
  await using upstream = _upstream([200]);
  const response = await fetchWithRetry(upstream.url, {}, FAST);
  assert.equal(response.status, 200);
  assert.equal(await response.text(), "answer 1: 200");
  assert.equal(upstream.requests.length, 1);
});

Deno.test("fetchWithRetry() retries a 503 and returns the following 200", async () => {
  await using upstream = _upstream([503, 200]);
  const logger = _collectingLogger();
  const response = await fetchWithRetry(upstream.url, {}, { ...FAST, log: logger });
  assert.equal(response.status, 200);
  assert.equal(await response.text(), "answer 2: 200");
  assert.equal(upstream.requests.length, 2);
  assert.deepEqual(logger.lines, [{
    obj: { attempt: 1, url: upstream.url, status: 503, delay_ms: 0 },
    msg: "upstream.retry",
  }]);
});

Deno.test("fetchWithRetry() retries 502, 504 and 429", async () => {
  await using upstream = _upstream([502, 504, 429, 200]);
  const response = await fetchWithRetry(upstream.url, {}, { ...FAST, maxAttempts: 4 });
  assert.equal(response.status, 200);
  await response.body?.cancel();
  assert.equal(upstream.requests.length, 4);
});

for (const status of [400, 404, 500]) {
  Deno.test(`fetchWithRetry() returns a ${status} after one attempt`, async () => {
    await using upstream = _upstream([status, 200]);
    const response = await fetchWithRetry(upstream.url, {}, FAST);
    assert.equal(response.status, status);
    assert.equal(await response.text(), `answer 1: ${status}`);
    assert.equal(upstream.requests.length, 1);
  });
}

Deno.test("fetchWithRetry() throws with the last status when every attempt is retryable", async () => {
  await using upstream = _upstream([502, 503]);
  const error = await fetchWithRetry(upstream.url, {}, { ...FAST, maxAttempts: 3 })
    .catch((e) => e);
  assert.ok(error instanceof UpstreamUnavailableError);
  assert.equal(error.attempts, 3);
  assert.equal(error.lastStatus, 503);
  assert.match(error.message, /last status 503$/);
  assert.equal(upstream.requests.length, 3);
});

Deno.test("fetchWithRetry() backs off exponentially with full jitter up to maxDelayMs", async () => {
  await using upstream = _upstream([503, 503, 503, 200]);
  const logger = _collectingLogger();
  const attempts: AttemptInfo[] = [];
  const response = await fetchWithRetry(upstream.url, {}, {
    baseDelayMs: 10,
    maxDelayMs: 25,
    random: () => 1,
    log: logger,
    onAttempt: (info) => attempts.push(info),
  });
  await response.body?.cancel();
  assert.deepEqual(logger.lines.map((line) => line.obj.delay_ms), [10, 20, 25]);
  assert.deepEqual(attempts.map((a) => a.status), [503, 503, 503, 200]);
  assert.deepEqual(attempts.map((a) => a.attempt), [1, 2, 3, 4]);
});

Deno.test("fetchWithRetry() aborts a hanging attempt and retries it", async () => {
  await using upstream = _upstream(["hang", 200]);
  const logger = _collectingLogger();
  const response = await fetchWithRetry(upstream.url, {}, {
    ...FAST,
    // Long enough that the attempt meant to succeed cannot time out on a busy machine; the hanging
    // one still does.
    attemptTimeoutMs: 1000,
    log: logger,
  });
  assert.equal(response.status, 200);
  await response.body?.cancel();
  assert.equal(upstream.requests.length, 2);
  assert.equal(logger.lines[0]?.obj.error, "timeout");
});

Deno.test("fetchWithRetry() stops at totalTimeoutMs when every attempt hangs", async () => {
  await using upstream = _upstream(["hang"]);
  const started = Date.now();
  const error = await fetchWithRetry(upstream.url, {}, {
    ...FAST,
    attemptTimeoutMs: 200,
    // Room for several attempts even when timers run late on a busy machine.
    totalTimeoutMs: 1500,
    maxAttempts: 10,
  }).catch((e) => e);
  // A budget check, not a timing test: only the upper bound matters.
  assert.ok(Date.now() - started < 1500 + 1500);
  assert.ok(error instanceof UpstreamUnavailableError);
  assert.match(error.message, /last timeout$/);
  assert.equal(error.lastStatus, undefined);
  assert.ok(error.attempts >= 2 && error.attempts < 10, `attempts: ${error.attempts}`);
  // The last attempt may be cut by the budget before the server has seen it.
  const seen = upstream.requests.length;
  assert.ok(seen >= 2 && seen <= error.attempts, `${seen} requests, ${error.attempts} attempts`);
});

Deno.test("fetchWithRetry() retries a refused connection until maxAttempts", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  const logger = _collectingLogger();
  const error = await fetchWithRetry(`http://127.0.0.1:${port}/products/42?token=s3cret`, {}, {
    ...FAST,
    log: logger,
  }).catch((e) => e);
  assert.ok(error instanceof UpstreamUnavailableError);
  assert.equal(error.attempts, 4);
  assert.equal(error.lastStatus, undefined);
  assert.match(error.message, /last error$/);
  assert.ok(error.cause instanceof TypeError);
  assert.equal(logger.lines.length, 3);
  assert.ok(!JSON.stringify(logger.lines).includes("s3cret"), "query leaked into logs");
});

Deno.test("fetchWithRetry() sends the caller's headers on every attempt and never logs them", async () => {
  await using upstream = _upstream([503, 502, 200]);
  const logger = _collectingLogger();
  const headers = { "X-API-Key": "k-secret-123", "X-Request-ID": "req-1" };
  const response = await fetchWithRetry(upstream.url, { headers }, { ...FAST, log: logger });
  await response.body?.cancel();
  assert.equal(upstream.requests.length, 3);
  for (const seen of upstream.requests) {
    assert.equal(seen.get("x-api-key"), "k-secret-123");
    assert.equal(seen.get("x-request-id"), "req-1");
  }
  assert.ok(!JSON.stringify(logger.lines).includes("k-secret-123"), "API key leaked into logs");
});

Deno.test("fetchWithRetry() waits for Retry-After on a 503", async () => {
  await using upstream = _upstream([{ status: 503, retryAfter: "1" }, 200]);
  const logger = _collectingLogger();
  const started = Date.now();
  const response = await fetchWithRetry(upstream.url, {}, { ...FAST, log: logger });
  await response.body?.cancel();
  assert.equal(response.status, 200);
  assert.ok(Date.now() - started >= 900, "Retry-After not honoured");
  assert.equal(logger.lines[0]?.obj.delay_ms, 1000);
});

Deno.test("fetchWithRetry() gives up when Retry-After is past the budget", async () => {
  await using upstream = _upstream([{ status: 429, retryAfter: "60" }, 200]);
  const started = Date.now();
  const error = await fetchWithRetry(upstream.url, {}, { ...FAST, totalTimeoutMs: 2000 })
    .catch((e) => e);
  assert.ok(Date.now() - started < 1000, "waited on a Retry-After it could not honour");
  assert.ok(error instanceof UpstreamUnavailableError);
  assert.equal(error.attempts, 1);
  assert.equal(error.lastStatus, 429);
  assert.equal(upstream.requests.length, 1);
});

Deno.test("fetchWithRetry() stops at once when the caller aborts an attempt", async () => {
  await using upstream = _upstream(["hang", 200]);
  const controller = new AbortController();
  const call = assert.rejects(
    fetchWithRetry(upstream.url, {}, { ...FAST, signal: controller.signal }),
    { name: "AbortError" },
  );
  // Aborted once the attempt is under way at the server, however long that took to happen.
  await until(() => upstream.requests.length === 1, "the first attempt");
  const aborted = Date.now();
  controller.abort();
  await call;
  assert.ok(Date.now() - aborted < 1000);
  assert.equal(upstream.requests.length, 1);
});

Deno.test("fetchWithRetry() stops at once when the caller aborts during a backoff", async () => {
  await using upstream = _upstream([{ status: 503, retryAfter: "3" }, 200]);
  const controller = new AbortController();
  const logger = _collectingLogger();
  const call = assert.rejects(
    fetchWithRetry(upstream.url, {}, { ...FAST, log: logger, signal: controller.signal }),
    { name: "AbortError" },
  );
  // Aborted once the 503 is answered and the 3 s backoff has begun.
  await until(() => logger.lines.length === 1, "the backoff after the 503");
  const aborted = Date.now();
  controller.abort();
  await call;
  assert.ok(Date.now() - aborted < 1000, "waited out the backoff");
  assert.equal(upstream.requests.length, 1);
});

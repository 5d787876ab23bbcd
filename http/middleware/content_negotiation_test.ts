import assert from "node:assert/strict";
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { JSONAPI_MEDIA_TYPE } from "../jsonapi.ts";
import { jsonApiBody } from "../../tests/support/jsonapi.ts";
import { jsonApiContentNegotiation } from "./content_negotiation.ts";
import { errorHandler } from "./error_handler.ts";
import { requestId } from "./request_id.ts";

const BODY = '{"data":{"type":"things","attributes":{}}}';

function testApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError(errorHandler());
  app.use(requestId(), jsonApiContentNegotiation());
  app.on(
    ["GET", "POST", "PATCH", "DELETE"],
    "/things",
    (c) => c.text("passed", 200),
  );
  return app;
}

/**
 * A request to /things; the body is bytes so that no Content-Type is added when none is given
 * (a string body would get `text/plain;charset=UTF-8`).
 */
function request(
  app: Hono<AppEnv>,
  method: string,
  headers: Record<string, string | undefined>,
): Promise<Response> {
  const sent: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) sent[name] = value;
  const body = method === "GET" ? undefined : new TextEncoder().encode(BODY);
  return Promise.resolve(app.request("/things", { method, headers: sent, body }));
}

async function assertPassed(res: Response, label: string): Promise<void> {
  assert.equal(res.status, 200, label);
  assert.equal(await res.text(), "passed", label);
}

async function assertRefused(
  res: Response,
  status: number,
  code: string,
  header: string,
  label: string,
): Promise<void> {
  assert.equal(res.status, status, label);
  const doc = await jsonApiBody(res);
  assert.equal(doc.errors.length, 1, label);
  assert.equal(doc.errors[0].status, String(status), label);
  assert.equal(doc.errors[0].code, code, label);
  assert.deepEqual(doc.errors[0].source, { header }, label);
  assert.ok(doc.errors[0].detail.includes(JSONAPI_MEDIA_TYPE), label);
}

Deno.test("jsonApiContentNegotiation() answers 415 to a POST or PATCH body that is not JSON:API", async () => {
  const app = testApp();
  const types = [
    undefined,
    "application/json",
    "text/plain",
    "application/*",
    "application/vnd.api+json-x",
  ];
  for (const method of ["POST", "PATCH"]) {
    for (const type of types) {
      const res = await request(app, method, { "Content-Type": type });
      await assertRefused(res, 415, "unsupported_media_type", "Content-Type", `${method} ${type}`);
    }
  }
});

Deno.test("jsonApiContentNegotiation() answers 415 to media type parameters other than profile", async () => {
  const app = testApp();
  const types = [
    `${JSONAPI_MEDIA_TYPE}; charset=utf-8`,
    `${JSONAPI_MEDIA_TYPE}; ext="https://jsonapi.org/ext/atomic"`,
    `${JSONAPI_MEDIA_TYPE};foo=bar`,
    `${JSONAPI_MEDIA_TYPE}; profile="https://example.com/p"; charset=utf-8`,
  ];
  for (const method of ["POST", "PATCH"]) {
    for (const type of types) {
      const res = await request(app, method, { "Content-Type": type });
      await assertRefused(res, 415, "unsupported_media_type", "Content-Type", `${method} ${type}`);
    }
  }
});

Deno.test("jsonApiContentNegotiation() accepts a plain or profiled JSON:API body", async () => {
  const app = testApp();
  const types = [
    JSONAPI_MEDIA_TYPE,
    "Application/VND.API+JSON",
    `${JSONAPI_MEDIA_TYPE}; profile="https://example.com/p"`,
    `${JSONAPI_MEDIA_TYPE}; profile="https://example.com/a https://example.com/b"`,
    `${JSONAPI_MEDIA_TYPE};PROFILE=x`,
  ];
  for (const method of ["POST", "PATCH"]) {
    for (const type of types) {
      await assertPassed(await request(app, method, { "Content-Type": type }), `${method} ${type}`);
    }
  }
});

Deno.test("jsonApiContentNegotiation() ignores Content-Type on GET and DELETE", async () => {
  const app = testApp();
  for (const method of ["GET", "DELETE"]) {
    for (const type of [undefined, "text/plain", `${JSONAPI_MEDIA_TYPE}; charset=utf-8`]) {
      await assertPassed(await request(app, method, { "Content-Type": type }), `${method} ${type}`);
    }
  }
});

Deno.test("jsonApiContentNegotiation() answers 406 when every JSON:API Accept entry has parameters", async () => {
  const app = testApp();
  const accepts = [
    `${JSONAPI_MEDIA_TYPE}; charset=utf-8`,
    `${JSONAPI_MEDIA_TYPE}; ext="https://jsonapi.org/ext/atomic"`,
    `${JSONAPI_MEDIA_TYPE}; ext="x", ${JSONAPI_MEDIA_TYPE}; foo=1`,
    `${JSONAPI_MEDIA_TYPE}; q=0.5; charset=utf-8`,
    `${JSONAPI_MEDIA_TYPE}; profile="https://example.com/p"; foo=1`,
    `application/json, ${JSONAPI_MEDIA_TYPE}; charset=utf-8, */*`,
    "Application/Vnd.Api+Json; Charset=utf-8",
  ];
  for (const accept of accepts) {
    await assertRefused(
      await request(app, "GET", { Accept: accept }),
      406,
      "not_acceptable",
      "Accept",
      accept,
    );
  }
  const post = await request(app, "POST", {
    "Content-Type": JSONAPI_MEDIA_TYPE,
    Accept: `${JSONAPI_MEDIA_TYPE}; charset=utf-8`,
  });
  await assertRefused(post, 406, "not_acceptable", "Accept", "POST");
});

Deno.test("jsonApiContentNegotiation() accepts Accept with one plain JSON:API entry, or none", async () => {
  const app = testApp();
  const accepts = [
    undefined,
    JSONAPI_MEDIA_TYPE,
    `${JSONAPI_MEDIA_TYPE}; charset=utf-8, ${JSONAPI_MEDIA_TYPE}`,
    `${JSONAPI_MEDIA_TYPE}; q=0.9`,
    `${JSONAPI_MEDIA_TYPE}; profile="https://example.com/p"`,
    `${JSONAPI_MEDIA_TYPE}; profile="https://example.com/p"; q=0.5`,
    "*/*",
    "application/*",
    "application/json",
    `application/json, ${JSONAPI_MEDIA_TYPE}`,
    "text/html, application/xhtml+xml;q=0.9, */*;q=0.8",
  ];
  for (const accept of accepts) {
    await assertPassed(await request(app, "GET", { Accept: accept }), String(accept));
  }
});

Deno.test("jsonApiContentNegotiation() reads quoted profile URIs whole", async () => {
  const app = new Hono<AppEnv>();
  app.onError(errorHandler());
  app.use(jsonApiContentNegotiation());
  app.post("/x", (c) => c.text("ok"));
  const profile = 'application/vnd.api+json; profile="https://example.com/p;v=1,2"';
  const res = await app.request("/x", {
    method: "POST",
    headers: { "Content-Type": profile, Accept: profile },
    body: "{}",
  });
  assert.equal(res.status, 200);
});

/** The response validator itself: each kind of departure from a document is reported. */
import assert from "node:assert/strict";
import { coverageGaps, OpenApiResponseValidator } from "./support/openapi_validator.ts";

const JSONAPI = "application/vnd.api+json";
const requestId = { "X-Request-ID": { $ref: "#/components/headers/RequestId" } };

const document = {
  openapi: "3.1.0",
  info: { title: "t", version: "1" },
  paths: {
    "/things": {
      post: {
        responses: {
          "201": {
            description: "Created",
            headers: { ...requestId, Location: { required: true, schema: { format: "uri" } } },
            content: { [JSONAPI]: { schema: { $ref: "#/components/schemas/Thing" } } },
          },
          "422": { $ref: "#/components/responses/Invalid" },
        },
      },
    },
    "/things/{id}": {
      get: {
        responses: {
          "200": {
            description: "OK",
            headers: requestId,
            content: { [JSONAPI]: { schema: { $ref: "#/components/schemas/Thing" } } },
          },
        },
      },
      delete: {
        responses: {
          "202": { description: "Accepted", headers: requestId },
          "204": { description: "No Content", headers: requestId },
        },
      },
    },
    "/things/special": {
      get: { responses: { "200": { description: "OK", content: { "text/plain": {} } } } },
    },
  },
  components: {
    headers: { RequestId: { required: true, schema: { type: "string", minLength: 1 } } },
    responses: {
      Invalid: {
        description: "Unprocessable",
        headers: requestId,
        content: { [JSONAPI]: { schema: { type: "object", required: ["errors"] } } },
      },
    },
    schemas: {
      Thing: {
        type: "object",
        additionalProperties: false,
        required: ["id", "at"],
        properties: { id: { type: "string", format: "uuid" }, at: { format: "date-time" } },
      },
    },
  },
};

const thing = { id: crypto.randomUUID(), at: "2026-01-02T03:04:05.678Z" };

function response(status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = body === undefined ? null : typeof body === "string" ? body : JSON.stringify(body);
  return new Response(text, {
    status,
    headers: {
      "X-Request-ID": "r1",
      ...(text !== null ? { "Content-Type": JSONAPI } : {}),
      ...headers,
    },
  });
}

async function problems(method: string, url: string, res: Response) {
  return (await new OpenApiResponseValidator(document).check(method, url, res)).problems;
}

Deno.test("a conforming response has no problems, $refs of responses and headers resolved", async () => {
  const v = new OpenApiResponseValidator(document);
  const ok = await v.check("GET", `/things/${thing.id}?x=1`, response(200, thing));
  assert.deepEqual(ok.problems, []);
  assert.equal(ok.operation, "get /things/{id}");
  assert.deepEqual(ok.body, thing);
  const created = response(201, thing, { Location: "http://h/things/1" });
  assert.deepEqual((await v.check("POST", "/things", created)).problems, []);
  assert.deepEqual((await v.check("POST", "/things", response(422, { errors: [] }))).problems, []);
  assert.deepEqual((await v.check("DELETE", "/things/x", response(204, undefined))).problems, []);
  assert.equal(v.match("GET", "/things/special")?.key, "get /things/special", "literal first");
  assert.deepEqual(v.documentedMethods("/things/1").sort(), ["DELETE", "GET"]);
  assert.deepEqual(v.observedStatuses(), [
    "delete /things/{id} 204",
    "get /things/{id} 200",
    "post /things 201",
    "post /things 422",
  ]);
  const unseen = ["delete /things/{id} 202", "get /things/special 200"];
  assert.deepEqual(coverageGaps(v, Object.fromEntries(unseen.map((p) => [p, "why"]))), []);
  assert.deepEqual(coverageGaps(v, { "delete /things/{id} 202": "why" }), [
    "documented but never observed: get /things/special 200",
  ]);
  assert.deepEqual(
    coverageGaps(v, { ...Object.fromEntries(unseen.map((p) => [p, ""])), "post /things 201": "" }),
    [
      "listed as unobservable but observed: post /things 201",
    ],
  );
});

Deno.test("each departure from the document is reported", async () => {
  const cases: [string, string, Response, RegExp][] = [
    ["PUT", "/things", response(200, thing), /no documented operation/],
    ["GET", "/things/1", response(404, thing), /status 404 is not documented/],
    ["GET", "/things/1", response(200, { ...thing, extra: 1 }), /additional properties/],
    ["GET", "/things/1", response(200, { id: "x", at: thing.at }), /must match format "uuid"/],
    ["GET", "/things/1", response(200, { id: thing.id, at: "yesterday" }), /format "date-time"/],
    ["GET", "/things/1", response(200, { id: thing.id }), /required property 'at'/],
    [
      "GET",
      "/things/1",
      response(200, thing, { "Content-Type": "application/json" }),
      /sent application\/json/,
    ],
    ["GET", "/things/1", response(200, "{"), /not JSON/],
    ["GET", "/things/1", response(200, undefined), /sent no content/],
    ["DELETE", "/things/1", response(202, thing), /documented without content/],
    [
      "GET",
      "/things/1",
      response(200, thing, { "X-Cache": "HIT" }),
      /x-cache is sent but not documented/,
    ],
    ["GET", "/things/1", response(200, thing, { "X-Request-ID": "" }), /header x-request-id/],
    ["POST", "/things", response(201, thing), /required header location is missing/],
    ["POST", "/things", response(201, thing, { Location: "::" }), /header location/],
    ["POST", "/things", response(422, {}), /required property 'errors'/],
  ];
  for (const [method, url, res, expected] of cases) {
    const found = await problems(method, url, res);
    assert.ok(found.some((p) => expected.test(p)), `${method} ${url}: ${expected} in ${found}`);
  }
});

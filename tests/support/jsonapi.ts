import Ajv from "ajv/dist/2020";
import assert from "node:assert/strict";

// The official JSON:API 1.0 response schema (json-api/json-api, _schemas/1.0/schema.json), vendored
// so tests need nothing outside the repository. Compiled as its README says: draft 2020-12,
// non-strict, formats off (its `uri` format rejects the relative links JSON:API 1.1 allows).
const schema = JSON.parse(
  await Deno.readTextFile(new URL("./jsonapi_schema_1.0.json", import.meta.url)),
);
// deno-lint-ignore no-explicit-any
const ajv = new (Ajv as any)({ strict: false, validateFormats: false, allErrors: true });
const validate = ajv.compile(schema);

/** Asserts `document` is a valid JSON:API response document and returns it. */
// deno-lint-ignore no-explicit-any
export function assertJsonApi(document: unknown): any {
  const valid = validate(document);
  assert.ok(
    valid,
    `not a valid JSON:API document: ${ajv.errorsText(validate.errors)}\n${
      JSON.stringify(document)
    }`,
  );
  return document;
}

/** Reads a response body, checks the media type and the schema, and returns the document. */
// deno-lint-ignore no-explicit-any
export async function jsonApiBody(res: Response): Promise<any> {
  assert.equal(res.headers.get("content-type"), "application/vnd.api+json");
  return assertJsonApi(await res.json());
}

/** A request to an in-process app with the API key, a body sent as a JSON:API document. */
export function appRequester(
  app: { request(path: string, init: RequestInit): Response | Promise<Response> },
  apiKey: string,
) {
  return (
    path: string,
    init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Response> =>
    Promise.resolve(app.request(path, {
      method: init.method ?? "GET",
      headers: {
        "X-API-Key": apiKey,
        ...(init.body !== undefined ? { "Content-Type": "application/vnd.api+json" } : {}),
        ...init.headers,
      },
      body: init.body === undefined
        ? undefined
        : typeof init.body === "string"
        ? init.body
        : JSON.stringify(init.body),
    }));
}

/**
 * Checks real responses against the OpenAPI 3.1 document a service serves, the way a validating
 * proxy (Stoplight Prism) would: the operation is found by method and path template, the status
 * must be documented for it, the media type must be one of the documented ones, the body must
 * validate against the documented schema (ajv, draft 2020-12, `$ref`s resolved inside the
 * document) and the documented headers must be present and valid — while headers the document
 * does not mention are reported too, so a header the service adds is never left out of it.
 */
import Ajv from "ajv/dist/2020";

type Json = Record<string, unknown>;

/** Headers any HTTP response may carry without an API describing them. */
const TRANSPORT_HEADERS = new Set([
  "content-type",
  "content-length",
  "content-encoding",
  "transfer-encoding",
  "date",
  "connection",
  "keep-alive",
  "vary",
]);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i;

function isUri(value: string): boolean {
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

/** The media type without its parameters, lower case: `text/plain; version=0.0.4` → `text/plain`. */
export function mediaEssence(value: string): string {
  return value.split(";")[0]!.trim().toLowerCase();
}

/** One JSON Pointer (RFC 6901) segment, URI-encoded for use in a `$ref` fragment. */
function refSegment(segment: string): string {
  return encodeURIComponent(segment.replaceAll("~", "~0").replaceAll("/", "~1"));
}

export interface CheckedResponse {
  status: number;
  headers: Headers;
  /** The parsed JSON body (undefined without one), or its text for other media types. */
  // deno-lint-ignore no-explicit-any
  body: any;
  /** `get /products/{id}`, or undefined when no operation matches. */
  operation?: string;
  /** Every way the response departs from the document; empty when it conforms. */
  problems: string[];
}

interface Match {
  key: string;
  template: string;
  operation: Json;
}

export class OpenApiResponseValidator {
  readonly #document: Json;
  readonly #base = "https://openapi.test/document.json";
  // deno-lint-ignore no-explicit-any
  readonly #ajv: any;
  readonly #validators = new Map<string, (value: unknown) => boolean>();
  /** Operation key → statuses seen. */
  readonly observed = new Map<string, Set<number>>();

  constructor(document: Json) {
    this.#document = document;
    // deno-lint-ignore no-explicit-any
    this.#ajv = new (Ajv as any)({ strict: false, allErrors: true });
    this.#ajv.addFormat("uuid", UUID);
    this.#ajv.addFormat("date-time", (s: string) => DATE_TIME.test(s) && !isNaN(Date.parse(s)));
    this.#ajv.addFormat("uri", isUri);
    this.#ajv.addSchema({ ...structuredClone(document), $id: this.#base });
  }

  /** The validator for the document an app serves at `/openapi.json`. */
  static async fromApp(
    app: { request: (path: string) => Response | Promise<Response> },
  ): Promise<OpenApiResponseValidator> {
    const res = await app.request("/openapi.json");
    if (res.status !== 200) throw new Error(`/openapi.json answered ${res.status}`);
    return new OpenApiResponseValidator(await res.json());
  }

  get document(): Json {
    return this.#document;
  }

  /** Resolves a local `$ref` (`#/components/...`), following chains. */
  resolve(value: unknown): Json {
    let node = value as Json;
    for (let hops = 0; typeof node?.$ref === "string"; hops++) {
      if (hops > 10) throw new Error(`$ref loop at ${node.$ref}`);
      const ref = node.$ref as string;
      if (!ref.startsWith("#/")) throw new Error(`only local $refs are supported: ${ref}`);
      node = ref.slice(2).split("/").reduce<unknown>(
        (at, seg) => (at as Json)?.[seg.replaceAll("~1", "/").replaceAll("~0", "~")],
        this.#document,
      ) as Json;
      if (node === undefined) throw new Error(`unresolvable $ref ${ref}`);
    }
    return node;
  }

  /** Path template of the document matching a concrete path; literal templates win. */
  pathTemplate(path: string): string | undefined {
    const templates = Object.keys(this.#document.paths as Json)
      .sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0));
    return templates.find((t) => {
      const pattern = t.split(/\{[^}]+\}/).map((s) => s.replace(/[.*+?^$()|[\]\\]/g, "\\$&"))
        .join("[^/]+");
      return new RegExp(`^${pattern}$`).test(path);
    });
  }

  /** The operation for a method and a concrete path (query string allowed). */
  match(method: string, url: string): Match | undefined {
    const path = new URL(url, "http://localhost").pathname;
    const template = this.pathTemplate(path);
    if (!template) return undefined;
    const item = (this.#document.paths as Record<string, Json>)[template]!;
    const operation = item[method.toLowerCase()] as Json | undefined;
    return operation
      ? { key: `${method.toLowerCase()} ${template}`, template, operation }
      : undefined;
  }

  /** The methods documented for the path template matching `url`, upper case. */
  documentedMethods(url: string): string[] {
    const template = this.pathTemplate(new URL(url, "http://localhost").pathname);
    if (!template) return [];
    return Object.keys((this.#document.paths as Record<string, Json>)[template]!)
      .filter((k) => ["get", "put", "post", "patch", "delete", "head", "options"].includes(k))
      .map((k) => k.toUpperCase());
  }

  /** Validates `value` against the schema at a JSON pointer of the document; errors as text. */
  validateAt(pointer: string[], value: unknown): string[] {
    const ref = `${this.#base}#/${pointer.map(refSegment).join("/")}`;
    let validate = this.#validators.get(ref);
    if (!validate) {
      validate = this.#ajv.compile({ $ref: ref }) as (value: unknown) => boolean;
      this.#validators.set(ref, validate);
    }
    if (validate(value)) return [];
    // deno-lint-ignore no-explicit-any
    return ((validate as any).errors ?? []).map((e: any) =>
      `${e.instancePath || "/"} ${e.message}${e.params ? " " + JSON.stringify(e.params) : ""}`
    );
  }

  /** Checks one response of `method url`; reads its body. */
  async check(method: string, url: string, res: Response): Promise<CheckedResponse> {
    const text = await res.text();
    const contentType = res.headers.get("content-type");
    const essence = contentType ? mediaEssence(contentType) : undefined;
    const isJson = essence !== undefined && /^application\/([\w.+-]+\+)?json$/.test(essence);
    let body: unknown = text === "" ? undefined : text;
    const problems: string[] = [];
    let parsed = true;
    if (isJson && text !== "") {
      try {
        body = JSON.parse(text);
      } catch {
        parsed = false;
        problems.push(`${essence} body is not JSON`);
      }
    }
    const out = (operation?: string) => ({
      status: res.status,
      headers: res.headers,
      body,
      operation,
      problems,
    });
    const match = this.match(method, url);
    if (!match) {
      problems.push(`no documented operation for ${method.toUpperCase()} ${url}`);
      return out();
    }
    ((this.observed.get(match.key)) ?? this.observed.set(match.key, new Set()).get(match.key)!)
      .add(res.status);
    const responses = match.operation.responses as Json;
    const statusKey = [String(res.status), `${String(res.status)[0]}XX`, "default"]
      .find((k) => k in responses);
    if (!statusKey) {
      problems.push(`status ${res.status} is not documented for ${match.key}`);
      return out(match.key);
    }
    const response = this.resolve(responses[statusKey]);
    const where = `${match.key} → ${statusKey}`;
    problems.push(...this.#checkHeaders(where, response, res.headers));
    const content = response.content as Record<string, Json> | undefined;
    if (!content) {
      if (text !== "" || contentType) {
        problems.push(
          `${where}: documented without content, but sent ${contentType} "${text.slice(0, 80)}"`,
        );
      }
      return out(match.key);
    }
    if (text === "" && !contentType) {
      problems.push(`${where}: documented with ${Object.keys(content)} but sent no content`);
      return out(match.key);
    }
    const mediaKey = Object.keys(content).find((k) =>
      mediaEssence(k) === essence || k === "*/*" ||
      (k.endsWith("/*") && essence?.startsWith(k.slice(0, -1)))
    );
    if (!mediaKey) {
      problems.push(`${where}: sent ${contentType}, documented ${Object.keys(content)}`);
      return out(match.key);
    }
    if (content[mediaKey]!.schema !== undefined && parsed) {
      const pointer = ["paths", match.template, method.toLowerCase(), "responses", statusKey];
      // Through a response $ref, validate at the referenced component instead.
      const ref = (responses[statusKey] as Json).$ref as string | undefined;
      const at = ref ? ref.slice(2).split("/").map((s) => s.replaceAll("~1", "/")) : pointer;
      const errors = this.validateAt([...at, "content", mediaKey, "schema"], body);
      for (const error of errors) problems.push(`${where} body: ${error}`);
    }
    return out(match.key);
  }

  #checkHeaders(where: string, response: Json, headers: Headers): string[] {
    const problems: string[] = [];
    const documented = new Map<string, Json>();
    for (const [name, header] of Object.entries((response.headers ?? {}) as Json)) {
      documented.set(name.toLowerCase(), this.resolve(header));
    }
    for (const [name, header] of documented) {
      const value = headers.get(name);
      if (value === null) {
        if (header.required) problems.push(`${where}: required header ${name} is missing`);
        continue;
      }
      if (header.schema) {
        const errors = this.#validateValue(header.schema, value);
        if (errors) problems.push(`${where}: header ${name}: "${value}" ${errors}`);
      }
    }
    for (const [name] of headers) {
      if (!TRANSPORT_HEADERS.has(name) && !documented.has(name)) {
        problems.push(`${where}: header ${name} is sent but not documented`);
      }
    }
    return problems;
  }

  /** Validates a value against a schema of the document (a header's); errors as text, or "". */
  #validateValue(schema: unknown, value: unknown): string {
    // `$ref`s pointed into the document, to compile the schema on its own.
    const text = JSON.stringify(schema).replaceAll('"$ref":"#/', `"$ref":"${this.#base}#/`);
    let validate = this.#validators.get(text);
    if (!validate) {
      validate = this.#ajv.compile(JSON.parse(text)) as (value: unknown) => boolean;
      this.#validators.set(text, validate);
    }
    // deno-lint-ignore no-explicit-any
    return validate(value) ? "" : this.#ajv.errorsText((validate as any).errors);
  }

  /** Every documented `operation status` pair, e.g. `get /products/{id} 404`. */
  documentedStatuses(): string[] {
    const pairs: string[] = [];
    for (const [path, item] of Object.entries(this.#document.paths as Record<string, Json>)) {
      for (const [method, operation] of Object.entries(item)) {
        for (const status of Object.keys(((operation as Json).responses ?? {}) as Json)) {
          pairs.push(`${method} ${path} ${status}`);
        }
      }
    }
    return pairs.sort();
  }

  /** Every `operation status` pair seen through `check`. */
  observedStatuses(): string[] {
    return [...this.observed].flatMap(([key, statuses]) => [...statuses].map((s) => `${key} ${s}`))
      .sort();
  }
}

export interface Call {
  body?: unknown;
  headers?: Record<string, string>;
  /** Send without the API key. */
  anonymous?: boolean;
}

type App = { request: (path: string, init: RequestInit) => Response | Promise<Response> };

/**
 * Sends requests to an app in-process and checks every response against the document the app
 * serves; `problems` collects every departure, each prefixed with its request.
 */
export function documentedClient(app: App, validator: OpenApiResponseValidator, apiKey: string) {
  const problems: string[] = [];
  async function send(method: string, path: string, call: Call = {}): Promise<CheckedResponse> {
    const headers: Record<string, string> = call.anonymous ? {} : { "X-API-Key": apiKey };
    if (call.body !== undefined) headers["Content-Type"] = "application/vnd.api+json";
    Object.assign(headers, call.headers);
    const res = await app.request(path, {
      method,
      headers,
      body: call.body === undefined
        ? undefined
        : typeof call.body === "string"
        ? call.body
        : JSON.stringify(call.body),
    });
    const checked = await validator.check(method, path, res);
    for (const problem of checked.problems) {
      problems.push(`${method} ${path} → ${res.status}: ${problem}`);
    }
    return checked;
  }
  /** Sends, and fails at once unless the status is `status`. */
  async function expect(status: number, method: string, path: string, call?: Call) {
    const checked = await send(method, path, call);
    if (checked.status !== status) {
      throw new Error(
        `${method} ${path}: expected ${status}, got ${checked.status} ${
          JSON.stringify(checked.body)
        }`,
      );
    }
    return checked;
  }
  return { send, expect, problems };
}

/**
 * Every status the client saw was documented (the `problems` say so), and every documented
 * `operation status` was seen, but for `unobservable` (pair → why). Returns the failures as text.
 */
export function coverageGaps(
  validator: OpenApiResponseValidator,
  unobservable: Record<string, string>,
): string[] {
  const observed = new Set(validator.observedStatuses());
  const documented = validator.documentedStatuses();
  const gaps = documented.filter((pair) => !observed.has(pair) && !(pair in unobservable))
    .map((pair) => `documented but never observed: ${pair}`);
  for (const pair of Object.keys(unobservable)) {
    if (!documented.includes(pair)) gaps.push(`listed as unobservable but not documented: ${pair}`);
    if (observed.has(pair)) gaps.push(`listed as unobservable but observed: ${pair}`);
  }
  return gaps;
}

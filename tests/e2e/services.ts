import assert from "node:assert/strict";
import { jsonApiBody } from "../support/jsonapi.ts";
import { until } from "../support/until.ts";

/** Support for end-to-end tests: both services as real `deno run` processes on free ports. */

const REPO = new URL("../../", import.meta.url);
const CONFIG = new URL("deno.json", REPO).pathname;

/** At least 16 characters, as production config demands; never the development key. */
export const TEST_API_KEY = "e2e-api-key-0123456789abcdef";

// A cold PGlite start (unpacking its data directory) can take ~10 s on a slow machine.
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 8_000;

// The child inherits our environment; blank every backend variable so a developer's shell exports
// cannot silently switch the embedded configuration to real stores (empty counts as unset).
export const BLANK_BACKENDS: Record<string, string> = {
  DATABASE_URL: "",
  UPSTASH_REDIS_REST_URL: "",
  UPSTASH_REDIS_REST_TOKEN: "",
  CACHE_TTL_SECONDS: "",
  MONGODB_URL: "",
  MONGODB_DB: "",
  PRODUCTS_SERVICE_URL: "",
  DENO_ENV: "",
  DENO_DEPLOYMENT_ID: "",
  STORE_MAX_IN_FLIGHT: "",
  STORE_MAX_QUEUE: "",
  STORE_MAX_WAIT_MS: "",
};

export type ServiceName = "products" | "inventory";
export type LogLine = Record<string, unknown>;

export interface RunningService {
  name: ServiceName;
  url: string;
  port: number;
  /** The process id (for CPU figures from /proc). */
  pid: number;
  /** Every JSON line the process has written to stdout so far. */
  logs(): LogLine[];
  /** SIGTERM, wait for a graceful exit (SIGKILL after 8 s), assert exit code 0; idempotent. */
  stop(): Promise<void>;
  /** SIGKILL (no drain, no flush), wait for the exit; afterwards `stop()` does nothing. */
  kill(): Promise<void>;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop()!;
    for (const line of parts) onLine(line);
  }
  if (rest) onLine(rest);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Starts `<repo>/<name>/main.ts` with `PORT`, `API_KEY`, `LOG_LEVEL=info` and `env`, in its own
 * temporary working directory (so `.data/` of the embedded stores is private and removed on stop),
 * and resolves once it has started (`GET /health/ready` no longer says `starting`).
 */
export async function startService(
  name: ServiceName,
  env: Record<string, string>,
): Promise<RunningService> {
  const cwd = await Deno.makeTempDir({ prefix: `stockroom-e2e-${name}-` });
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", CONFIG, new URL(`${name}/main.ts`, REPO).pathname],
    cwd,
    env: {
      ...BLANK_BACKENDS,
      PORT: String(port),
      API_KEY: TEST_API_KEY,
      LOG_LEVEL: "info",
      // Correctness under concurrency must not hang on how busy the test machine is: a call waits
      // for admission as long as its budget allows. Overload cases set their own limits.
      STORE_MAX_WAIT_MS: "5000",
      ...env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  const lines: LogLine[] = [];
  const stderr: string[] = [];
  const stdoutDone = readLines(child.stdout, (line) => {
    try {
      lines.push(JSON.parse(line));
    } catch {
      lines.push({ unparsed: line });
    }
  });
  const stderrDone = readLines(child.stderr, (line) => stderr.push(line));
  let exited: Deno.CommandStatus | undefined;
  const status = child.status.then((s) => (exited = s));

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      try {
        child.kill("SIGTERM");
      } catch { /* it exited between the check and the kill */ }
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      status.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    if (timedOut) child.kill("SIGKILL");
    const final = await status;
    await Promise.all([stdoutDone, stderrDone]);
    await Deno.remove(cwd, { recursive: true }).catch(() => {});
    assert.ok(
      !timedOut,
      `${name} did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM; its last log lines:\n${
        lines.slice(-12).map((l) => JSON.stringify(l)).join("\n")
      }`,
    );
    assert.equal(final.code, 0, `${name} exited with ${final.code}: ${stderr.join("\n")}`);
  };

  const kill = async () => {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      try {
        child.kill("SIGKILL");
      } catch { /* it exited between the check and the kill */ }
    }
    await status;
    await Promise.all([stdoutDone, stderrDone]);
    await Deno.remove(cwd, { recursive: true }).catch(() => {});
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  try {
    for (;;) {
      if (exited) throw new Error(`${name} exited with ${exited.code}: ${stderr.join("\n")}`);
      try {
        // Started means past the boot shell's "starting": loaded, configured, stores connected.
        const res = await fetch(`${url}/health/ready`);
        const body = await res.text();
        if (!body.includes('"starting"')) break;
      } catch { /* not listening yet */ }
      if (Date.now() > deadline) {
        throw new Error(`${name} not healthy after ${START_TIMEOUT_MS} ms: ${stderr.join("\n")}`);
      }
      await sleep(100);
    }
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
  return { name, url, port, pid: child.pid, logs: () => [...lines], stop, kill };
}

/** Polls a service's logs: pino writes asynchronously, so a line can trail its response. */
export async function waitForLog(
  service: RunningService,
  predicate: (line: LogLine) => boolean,
  timeoutMs = 5_000,
): Promise<LogLine> {
  let found: LogLine | undefined;
  // Every 25 ms: each look copies the service's log lines.
  await until(
    () => (found = service.logs().find(predicate)) !== undefined,
    `a matching ${service.name} log line`,
    timeoutMs,
    25,
  );
  return found!;
}

export interface RequestOptions {
  method?: string;
  /** Sent as JSON with `Content-Type: application/vnd.api+json`. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  doc: any;
}

/**
 * One request with the test API key. The body is always consumed and, unless the status is 204,
 * validated against the JSON:API schema, so no test can forget to check a response document.
 */
export async function request(
  baseUrl: string,
  path: string,
  options: RequestOptions = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { "X-API-Key": TEST_API_KEY, ...options.headers };
  if (options.body !== undefined) headers["Content-Type"] = "application/vnd.api+json";
  const res = await fetch(`${baseUrl}${path}`, {
    method: options.method ?? "GET",
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  if (res.status === 204) {
    assert.equal(await res.text(), "", "a 204 has no body");
    return { status: 204, headers: res.headers, doc: null };
  }
  try {
    return { status: res.status, headers: res.headers, doc: await jsonApiBody(res) };
  } finally {
    // A failed media-type check leaves the body unread; release it so only the assertion reports.
    if (!res.bodyUsed) await res.body?.cancel();
  }
}

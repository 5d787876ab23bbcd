/**
 * Load with wrk (Debian package `wrk`, installed with apt-get when missing). Every run uses a Lua
 * script generated here: the request part (static, a request() walking a list of ids, or one giving
 * every request a header value of its own), plus a done() hook printing one `BENCH_JSON {...}` line
 * with the figures the bench needs.
 */
import { run, trackHelper } from "./procs.ts";

export interface WrkResult {
  rps: number;
  requests: number;
  durationS: number;
  /** Socket errors (connect, read, write, timeout) plus non-2xx/3xx responses. */
  errors: number;
  non2xx: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
  /** Most requests one thread's Lua request() built (id-walking scripts; 0 otherwise). */
  used: number;
}

export interface WrkOptions {
  url: string;
  /** Lua text from `staticScript` or `walkScript`. */
  script: string;
  threads: number;
  connections: number;
  durationS: number;
  timeoutS?: number;
}

async function which(cmd: string): Promise<string | null> {
  const out = await new Deno.Command("sh", {
    args: ["-c", `command -v ${cmd}`],
    stdout: "piped",
    stderr: "null",
  }).output();
  const path = new TextDecoder().decode(out.stdout).trim();
  return out.success && path ? path : null;
}

/** The wrk binary, installing the Debian package first if it is missing. */
export async function ensureWrk(log: (line: string) => void): Promise<string> {
  const found = await which("wrk");
  if (found) return found;
  log("wrk not found: installing the Debian package (apt-get update && apt-get install -y wrk)");
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  // As root directly; otherwise through sudo without a password prompt (fails fast if not allowed).
  const aptGet = (...args: string[]) =>
    Deno.uid() === 0 ? run("apt-get", args, env) : run("sudo", ["-n", "apt-get", ...args], env);
  try {
    await aptGet("update", "-qq");
    await aptGet("install", "-y", "-qq", "wrk");
  } catch (err) {
    throw new Error(
      `wrk is missing and could not be installed (${(err as Error).message.split("\n")[0]}); ` +
        "install it with `apt-get install wrk` (as root) and run the bench again",
    );
  }
  const installed = await which("wrk");
  if (!installed) throw new Error("apt-get installed wrk but it is not on PATH");
  return installed;
}

export async function wrkVersion(wrk: string): Promise<string> {
  // `wrk -v` prints its version and usage and exits non-zero.
  const out = await new Deno.Command(wrk, { args: ["-v"], stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  // "wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer"
  return text.split("\n")[0]?.replace(/\s*Copyright.*$/, "").trim() || "wrk";
}

const luaString = (s: string) => JSON.stringify(s); // a JSON string is a valid Lua string here

function headerLines(headers: Record<string, string>): string {
  return Object.entries(headers)
    .map(([k, v]) => `wrk.headers[${luaString(k)}] = ${luaString(v)}`)
    .join("\n");
}

// setup() runs in the main Lua state once per thread, before that thread's init(): it numbers the
// threads (`tid`) and keeps them so done() can read each thread's `used` counter (the largest is
// reported: the next run of an id-walking script starts past offset + threads * used).
const REPORT = `
local bench_threads = {}
function setup(thread)
  thread:set("tid", #bench_threads)
  table.insert(bench_threads, thread)
end
function done(summary, latency, requests)
  local used = 0
  for _, t in ipairs(bench_threads) do
    local u = t:get("used")
    if u and u > used then used = u end
  end
  local e = summary.errors
  io.write(string.format(
    '\\nBENCH_JSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,' ..
    '"max_us":%d,"used":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean,
    latency.max, used))
end
`;

/** One fixed request (wrk builds it once per thread: the cheapest client side). */
export function staticScript(
  method: string,
  headers: Record<string, string>,
  body?: string,
): string {
  return [
    `wrk.method = ${luaString(method)}`,
    body === undefined ? "" : `wrk.body = ${luaString(body)}`,
    headerLines(headers),
    REPORT,
  ].join("\n");
}

/**
 * A request per id from `idsFile` (one per line), each id used once across all threads: thread t
 * of n takes ids offset+t+1, offset+t+1+n, … `bodyTemplate` has `{{id}}` where the id goes.
 */
export function walkScript(options: {
  method: string;
  path: string;
  headers: Record<string, string>;
  bodyTemplate: string;
  idsFile: string;
  offset: number;
  threads: number;
}): string {
  const [before, after] = options.bodyTemplate.split("{{id}}");
  return `
${headerLines(options.headers)}
local ids = {}
local k = 0
used = 0
function init(args)
  for line in io.lines(${luaString(options.idsFile)}) do ids[#ids + 1] = line end
end
function request()
  local i = ${options.offset} + tid + k * ${options.threads} + 1
  k = k + 1
  used = k
  local id = ids[i] or ids[((i - 1) % #ids) + 1]
  return wrk.format(${luaString(options.method)}, ${luaString(options.path)}, nil,
    ${luaString(before ?? "")} .. id .. ${luaString(after ?? "")})
end
${REPORT}`;
}

/**
 * One fixed request with a header whose value differs on every request: `${prefix}-${tid}-${n}`
 * (n counts the thread's requests), e.g. a distinct Idempotency-Key per request. Give every run a
 * prefix of its own and no two requests of the bench share a value.
 */
export function uniqueHeaderScript(options: {
  method: string;
  headers: Record<string, string>;
  body?: string;
  header: string;
  prefix: string;
}): string {
  return `
wrk.method = ${luaString(options.method)}
${options.body === undefined ? "" : `wrk.body = ${luaString(options.body)}`}
${headerLines(options.headers)}
local prefix = ${luaString(`${options.prefix}-`)}
used = 0
function request()
  used = used + 1
  wrk.headers[${luaString(options.header)}] = prefix .. tid .. "-" .. used
  return wrk.format()
end
${REPORT}`;
}

let scriptCounter = 0;

export async function runWrk(wrk: string, dir: string, options: WrkOptions): Promise<WrkResult> {
  const scriptPath = `${dir}/wrk-${++scriptCounter}.lua`;
  await Deno.writeTextFile(scriptPath, options.script);
  const child = new Deno.Command(wrk, {
    args: [
      `-t${options.threads}`,
      `-c${options.connections}`,
      `-d${options.durationS}s`,
      `--timeout`,
      `${options.timeoutS ?? 10}s`,
      "-s",
      scriptPath,
      options.url,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  trackHelper(child);
  const out = await child.output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  const line = stdout.split("\n").find((l) => l.startsWith("BENCH_JSON "));
  if (!out.success || !line) {
    throw new Error(`wrk failed (${out.code}) on ${options.url}:\n${stdout}\n${stderr}`);
  }
  const j = JSON.parse(line.slice("BENCH_JSON ".length));
  const durationS = j.duration_us / 1e6;
  return {
    rps: j.requests / durationS,
    requests: j.requests,
    durationS,
    errors: j.connect + j.read + j.write + j.timeout + j.status,
    non2xx: j.status,
    p50Ms: j.p50_us / 1000,
    p90Ms: j.p90_us / 1000,
    p99Ms: j.p99_us / 1000,
    meanMs: j.mean_us / 1000,
    maxMs: j.max_us / 1000,
    used: j.used,
  };
}

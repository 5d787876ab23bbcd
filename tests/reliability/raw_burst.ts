/**
 * A burst of HTTP/1.1 requests over plain TCP, for the flash-sale case: one connection per request
 * is opened first (the buyers' connections, already there when the sale opens, as behind Deno
 * Deploy's edge or any proxy), then every request is written at once and each answer read.
 *
 * Why not fetch: on this two-core machine, 4,000 fetches at once cost the test process about two
 * CPU-seconds and took 3-4 s just to be sent, so the burst measured the test's own client as much
 * as the services (goodput fell with the client's CPU share, not with the services' behaviour).
 * Writing ready bytes on open sockets costs a small fraction of that; the services see the same
 * thing: thousands of concurrent requests, each on its own connection.
 */
import type { CallResult } from "./support.ts";

export interface BurstRequest {
  /** http://host:port */
  base: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const OPEN_AT_ONCE = 256;

function requestBytes(r: BurstRequest): Uint8Array {
  const { host } = new URL(r.base);
  const body = r.body === undefined ? new Uint8Array() : encoder.encode(r.body);
  const head = [
    `${r.method} ${r.path} HTTP/1.1`,
    `Host: ${host}`,
    ...Object.entries(r.headers).map(([k, v]) => `${k}: ${v}`),
    ...(r.body === undefined ? [] : [`Content-Length: ${body.length}`]),
    "",
    "",
  ].join("\r\n");
  const bytes = encoder.encode(head);
  const all = new Uint8Array(bytes.length + body.length);
  all.set(bytes);
  all.set(body, bytes.length);
  return all;
}

/** The response at the start of `bytes` once it is complete (Content-Length framing), or null. */
export function parseResponse(
  bytes: Uint8Array,
): { status: number; headers: Headers; text: string } | null {
  let headEnd = -1;
  for (let i = 3; i < bytes.length; i++) {
    if (bytes[i] === 10 && bytes[i - 1] === 13 && bytes[i - 2] === 10 && bytes[i - 3] === 13) {
      headEnd = i + 1;
      break;
    }
  }
  if (headEnd < 0) return null;
  const lines = decoder.decode(bytes.subarray(0, headEnd - 4)).split("\r\n");
  const status = Number(lines[0]!.slice(9, 12));
  const headers = new Headers();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  const length = Number(headers.get("content-length") ?? "0");
  if (bytes.length < headEnd + length) return null;
  return { status, headers, text: decoder.decode(bytes.subarray(headEnd, headEnd + length)) };
}

async function readResponse(conn: Deno.TcpConn, deadline: number) {
  let bytes = new Uint8Array(0);
  const chunk = new Uint8Array(16 * 1024);
  const timer = setTimeout(() => conn.close(), Math.max(0, deadline - performance.now()));
  try {
    while (true) {
      const n = await conn.read(chunk);
      if (n === null) throw new Error("connection closed before a complete answer");
      const grown = new Uint8Array(bytes.length + n);
      grown.set(bytes);
      grown.set(chunk.subarray(0, n), bytes.length);
      bytes = grown;
      const parsed = parseResponse(bytes);
      if (parsed) return parsed;
    }
  } finally {
    clearTimeout(timer);
  }
}

async function openAll(requests: BurstRequest[]): Promise<Deno.TcpConn[]> {
  const conns: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < requests.length; i += OPEN_AT_ONCE) {
      const batch = requests.slice(i, i + OPEN_AT_ONCE).map((r) => {
        const url = new URL(r.base);
        return Deno.connect({ hostname: url.hostname, port: Number(url.port) });
      });
      conns.push(...await Promise.all(batch));
    }
    return conns;
  } catch (err) {
    for (const c of conns) c.close();
    throw err;
  }
}

/**
 * Sends every request at once, each on its own connection opened beforehand; answers in request
 * order, as `call()` gives them (status 0 and `error` when no complete answer came in `timeoutMs`).
 * Also when sending began (epoch ms), how long until the last answer (s), and the CPU seconds over
 * that of this process (`client`) and of each process in `watch` (name → pid).
 */
/** Sets this process's nice value (root may also lower it back); a no-op where renice fails. */
async function renice(value: number): Promise<void> {
  try {
    await new Deno.Command("renice", {
      args: ["-n", String(value), "-p", String(Deno.pid)],
      stdout: "null",
      stderr: "null",
    }).output();
  } catch { /* no renice: the burst runs at the usual priority */ }
}

export async function rawBurst(
  requests: BurstRequest[],
  options: { timeoutMs?: number; watch?: Record<string, number> } = {},
): Promise<
  { answers: CallResult[]; cpuSeconds: Record<string, string>; startedAt: number; seconds: number }
> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const payloads = requests.map(requestBytes);
  const conns = await openAll(requests);
  const watched = Object.entries({ client: "self" as const, ...options.watch });
  const ticks0 = watched.map(([, pid]) => cpuTicks(pid));
  // The load generator yields the CPU to the services and the store while the burst runs: on two
  // shared cores it was one of four busy processes and took a quarter of the machine from them
  // (in the runs where goodput fell to 0.44-0.49 of capacity, FerretDB got half a core).
  await renice(19);
  const startedAt = Date.now();
  const sendStart = performance.now();
  const answers = await Promise.all(conns.map(async (conn, i) => {
    const r = requests[i]!;
    const started = Date.now();
    const t0 = performance.now();
    const base = { method: r.method, path: r.path, started };
    try {
      let written = 0;
      while (written < payloads[i]!.length) {
        written += await conn.write(payloads[i]!.subarray(written));
      }
      const { status, headers, text } = await readResponse(conn, t0 + timeoutMs);
      let doc: unknown = undefined;
      try {
        doc = text ? JSON.parse(text) : undefined;
      } catch { /* not JSON: the caller decides */ }
      return { ...base, status, headers, text, doc, ended: Date.now(), ms: performance.now() - t0 };
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      const ms = performance.now() - t0;
      const ended = Date.now();
      return {
        ...base,
        status: 0,
        headers: new Headers(),
        text: "",
        doc: undefined,
        error,
        ended,
        ms,
      };
    } finally {
      try {
        conn.close();
      } catch { /* closed by the timeout */ }
    }
  }));
  const seconds = (performance.now() - sendStart) / 1000;
  const cpuSeconds = Object.fromEntries(
    watched.map(([name, pid], i) => [name, ((cpuTicks(pid) - ticks0[i]!) / 100).toFixed(2)]),
  );
  return { answers, cpuSeconds, startedAt, seconds };
}

/** utime + stime of a process in clock ticks (1/100 s), from /proc; 0 once it is gone. */
export function cpuTicks(pid: number | "self"): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** Processes whose command line contains `needle` (e.g. the FerretDB of the test rig). */
export function pidsRunning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      if (cmd.includes(needle)) pids.push(Number(entry.name));
    } catch { /* gone */ }
  }
  return pids;
}

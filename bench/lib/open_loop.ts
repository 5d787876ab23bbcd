/**
 * An open-loop load generator, run as its own process (`deno run -A bench/lib/open_loop.ts`): it
 * sends requests at a fixed rate whatever the server answers, as the many independent clients of a
 * busy service do, unlike wrk's closed loop, where a connection waits for its answer before the next
 * request (so a slow server slows its own load). For the overload figure: a burst at a multiple of
 * the service's capacity.
 *
 * HTTP/1.1 over plain TCP, the same request bytes every time: keep-alive connections (opened before
 * the clock starts), each carrying one request at a time; a request due when none is idle opens a
 * new one. Every millisecond or so it sends the requests the schedule (`rate` per second from the
 * start) says are due, up to `maxOutstanding` in flight (past it a due request is counted as not
 * sent). After `durationMs` it stops sending, waits up to `drainMs` for the answers still due, and
 * prints one `OPEN_LOOP_JSON {...}` line: counts by outcome (200; 503 with code `overloaded`; other
 * 503s; anything else; network errors; unanswered), latencies (from writing the request to the end
 * of its answer) by outcome, successes completed within the sending window, how far sending fell
 * behind the schedule, and the process's own CPU time (so a saturated generator shows).
 *
 * env: OPEN_LOOP_URL, OPEN_LOOP_METHOD, OPEN_LOOP_HEADERS (JSON object), OPEN_LOOP_BODY,
 * OPEN_LOOP_RATE (req/s), OPEN_LOOP_DURATION_MS, OPEN_LOOP_DRAIN_MS (15000),
 * OPEN_LOOP_MAX_OUTSTANDING (8000), OPEN_LOOP_CONNECTIONS (opened before the clock; 1000).
 */

/** Latency percentiles of one outcome; null when it never happened. */
export interface OpenLoopLatencies {
  count: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

export interface OpenLoopResult {
  /** Requests the schedule called for, and those actually handed to fetch. */
  planned: number;
  sent: number;
  /** Due requests not sent because `maxOutstanding` were in flight. */
  notSent: number;
  /** Sending window (ms) and how far sending fell behind the schedule at worst (ms). */
  windowMs: number;
  maxLagMs: number;
  ok: OpenLoopLatencies;
  overloaded: OpenLoopLatencies;
  /** 503s with another code (a store or products unavailable). */
  unavailable: OpenLoopLatencies;
  /** Any other status. */
  other: OpenLoopLatencies;
  otherStatuses: Record<string, number>;
  networkErrors: number;
  firstNetworkError?: string;
  /** Still unanswered after the drain. */
  unanswered: number;
  /** 200s completed within the sending window. */
  okInWindow: number;
  /** Most requests in flight at once. */
  maxOutstanding: number;
  /** Connections opened in all (before the clock and during the burst). */
  connections: number;
  /** utime + stime of this process over the burst, in clock ticks (/proc/self/stat). */
  cpuTicks: number;
  /** Wall time from the first send to the last answer (or the end of the drain), ms. */
  elapsedMs: number;
}

function selfTicks(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

function summary(values: number[]): OpenLoopLatencies {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) =>
    sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : null;
  return { count: sorted.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) };
}

/** One keep-alive HTTP/1.1 connection: at most one request in flight on it. */
interface Connection {
  conn: Deno.TcpConn;
  /** When the request in flight was written (performance.now()); 0 when idle. */
  sentAt: number;
  dead: boolean;
}

interface Answer {
  status: number;
  body: string;
  close: boolean;
  /** Bytes of the buffer this answer took. */
  length: number;
}

/** One complete response at the start of `text` (bytes as latin1 characters), or null. */
function parseAnswer(text: string): Answer | null {
  const headEnd = text.indexOf("\r\n\r\n");
  if (headEnd < 0) return null;
  const head = text.slice(0, headEnd);
  const status = Number(head.slice(9, 12));
  const close = /\r\nconnection:\s*close/i.test(head);
  const bodyStart = headEnd + 4;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (length) {
    const end = bodyStart + Number(length[1]);
    return text.length < end
      ? null
      : { status, body: text.slice(bodyStart, end), close, length: end };
  }
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    const end = text.indexOf("\r\n0\r\n\r\n", bodyStart - 2);
    return end < 0 ? null : { status, body: text.slice(bodyStart, end), close, length: end + 7 };
  }
  return { status, body: "", close, length: bodyStart };
}

async function main(): Promise<OpenLoopResult> {
  const env = (name: string, fallback?: string) => {
    const value = Deno.env.get(name) ?? fallback;
    if (value === undefined) throw new Error(`${name} is required`);
    return value;
  };
  const url = new URL(env("OPEN_LOOP_URL"));
  const method = env("OPEN_LOOP_METHOD", "GET");
  const headers: Record<string, string> = JSON.parse(env("OPEN_LOOP_HEADERS", "{}"));
  const body = new TextEncoder().encode(Deno.env.get("OPEN_LOOP_BODY") ?? "");
  const rate = Number(env("OPEN_LOOP_RATE"));
  const durationMs = Number(env("OPEN_LOOP_DURATION_MS"));
  const drainMs = Number(env("OPEN_LOOP_DRAIN_MS", "15000"));
  const maxOutstanding = Number(env("OPEN_LOOP_MAX_OUTSTANDING", "8000"));
  const initialConnections = Math.min(maxOutstanding, Number(env("OPEN_LOOP_CONNECTIONS", "1000")));

  const head = [
    `${method} ${url.pathname}${url.search} HTTP/1.1`,
    `Host: ${url.host}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ...(body.length || method !== "GET" ? [`Content-Length: ${body.length}`] : []),
    "",
    "",
  ].join("\r\n");
  const request = new Uint8Array([...new TextEncoder().encode(head), ...body]);

  const latencies = { ok: [] as number[], overloaded: [] as number[], unavailable: [] as number[] };
  const otherLatencies: number[] = [];
  const otherStatuses: Record<string, number> = {};
  let networkErrors = 0;
  let firstNetworkError: string | undefined;
  let outstanding = 0;
  let peak = 0;
  let okInWindow = 0;
  let lastAnswer = 0;
  let windowEnd = Infinity;
  let allAnswered: (() => void) | undefined;
  const idle: Connection[] = [];
  let connections = 0;

  const finish = () => {
    outstanding--;
    if (outstanding === 0) allAnswered?.();
  };
  const failed = (c: Connection, why: string) => {
    c.dead = true;
    if (c.sentAt) {
      c.sentAt = 0;
      lastAnswer = performance.now();
      networkErrors++;
      firstNetworkError ??= why;
      finish();
    }
  };
  const answered = (c: Connection, a: Answer) => {
    const end = performance.now();
    const ms = end - c.sentAt;
    c.sentAt = 0;
    lastAnswer = end;
    if (a.status === 200) {
      latencies.ok.push(ms);
      if (end <= windowEnd) okInWindow++;
    } else if (a.status === 503) {
      (a.body.includes('"code":"overloaded"') ? latencies.overloaded : latencies.unavailable)
        .push(ms);
    } else {
      otherLatencies.push(ms);
      otherStatuses[a.status] = (otherStatuses[a.status] ?? 0) + 1;
    }
    if (a.close) {
      c.dead = true;
      c.conn.close();
    } else {
      idle.push(c);
    }
    finish();
  };
  const readLoop = async (c: Connection) => {
    const buffer = new Uint8Array(16 * 1024);
    const latin1 = new TextDecoder("latin1");
    let pending = "";
    for (;;) {
      let n: number | null;
      try {
        n = await c.conn.read(buffer);
      } catch (err) {
        return failed(c, String((err as Error)?.message ?? err));
      }
      if (n === null) return failed(c, "connection closed by the server");
      pending += latin1.decode(buffer.subarray(0, n));
      for (let a = parseAnswer(pending); a; a = parseAnswer(pending)) {
        pending = pending.slice(a.length);
        if (c.sentAt) answered(c, a);
      }
      if (c.dead) return;
    }
  };
  const open = async (): Promise<Connection> => {
    const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port || 80) });
    conn.setNoDelay(true);
    const c: Connection = { conn, sentAt: 0, dead: false };
    connections++;
    void readLoop(c);
    return c;
  };
  const send = async (c: Connection) => {
    c.sentAt = performance.now();
    try {
      // Small enough for one write on a fresh socket buffer; a short write would be an error here.
      const n = await c.conn.write(request);
      if (n !== request.length) throw new Error(`short write (${n} of ${request.length} bytes)`);
    } catch (err) {
      failed(c, String((err as Error)?.message ?? err));
    }
  };
  const one = async () => {
    outstanding++;
    if (outstanding > peak) peak = outstanding;
    let c = idle.pop();
    while (c?.dead) c = idle.pop();
    if (!c) {
      try {
        c = await open();
      } catch (err) {
        networkErrors++;
        firstNetworkError ??= String((err as Error)?.message ?? err);
        lastAnswer = performance.now();
        return finish();
      }
    }
    await send(c);
  };

  // Connections opened before the clock starts, as a client fleet would have them already.
  for (let i = 0; i < initialConnections; i += 100) {
    const batch = Math.min(100, initialConnections - i);
    idle.push(...await Promise.all(Array.from({ length: batch }, open)));
  }

  const planned = Math.floor((rate * durationMs) / 1000);
  const ticks0 = selfTicks();
  const t0 = performance.now();
  windowEnd = t0 + durationMs;
  let sent = 0;
  let notSent = 0;
  let maxLagMs = 0;
  for (let due = 0; due < planned;) {
    const now = performance.now();
    due = Math.min(planned, Math.floor(((now - t0) * rate) / 1000));
    if (due > sent + notSent) {
      // How late the oldest request now due is, against its place in the schedule.
      const lag = now - (t0 + ((sent + notSent) * 1000) / rate);
      if (lag > maxLagMs) maxLagMs = lag;
    }
    while (sent + notSent < due) {
      if (outstanding >= maxOutstanding) {
        notSent++;
      } else {
        sent++;
        void one();
      }
    }
    if (due < planned) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const sendingEnd = performance.now();
  if (outstanding > 0) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      new Promise<void>((resolve) => (allAnswered = resolve)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs))),
    ]);
    clearTimeout(timer);
  }
  const ticks = selfTicks() - ticks0;
  return {
    planned,
    sent,
    notSent,
    windowMs: Math.max(durationMs, sendingEnd - t0),
    maxLagMs,
    ok: summary(latencies.ok),
    overloaded: summary(latencies.overloaded),
    unavailable: summary(latencies.unavailable),
    other: summary(otherLatencies),
    otherStatuses,
    networkErrors,
    firstNetworkError,
    unanswered: outstanding,
    okInWindow,
    maxOutstanding: peak,
    connections,
    cpuTicks: ticks,
    elapsedMs: (outstanding > 0 ? performance.now() : Math.max(lastAnswer, sendingEnd)) - t0,
  };
}

if (import.meta.main) {
  const result = await main();
  console.log(`OPEN_LOOP_JSON ${JSON.stringify(result)}`);
  // Requests still unanswered after the drain would keep the process alive.
  Deno.exit(0);
}

/**
 * An Upstash-compatible REST gateway in front of a real Redis, so tests can drive the real
 * `@upstash/redis` client (which speaks HTTP+JSON, not RESP) against a local server.
 *
 * Endpoints, as @upstash/redis 1.39.0 uses them with default settings: `POST /` (one command),
 * `POST /pipeline` (auto-pipelining sends nearly every call here) and `POST /multi-exec`.
 *
 * Run as a script: `deno run -A tests/support/upstash_gateway.ts`
 * (env: GATEWAY_PORT=8079, GATEWAY_TOKEN=stockroom-test-token, REDIS_URL=redis://127.0.0.1:6379).
 */
import { timingSafeEqual } from "hono/utils/buffer";

export interface UpstashGatewayOptions {
  /** 0 picks a free port. */
  port?: number;
  hostname?: string;
  token: string;
  redisUrl?: string;
  /** Most Redis connections shared by `/` and `/pipeline` requests. */
  poolSize?: number;
}

export interface UpstashGateway {
  url: string;
  token: string;
  close(): Promise<void>;
}

class RedisError {
  constructor(readonly message: string) {}
}

/** Simple strings stay JS strings; bulk strings stay bytes until the reply encoding is known. */
type Reply = string | Uint8Array | bigint | null | RedisError | Reply[];

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

function encodeCommands(commands: string[][]): Uint8Array {
  let text = "";
  for (const args of commands) {
    text += `*${args.length}\r\n`;
    // Lengths are in UTF-8 bytes, the same encoding the whole text gets below.
    for (const arg of args) text += `$${utf8.encode(arg).length}\r\n${arg}\r\n`;
  }
  return utf8.encode(text);
}

/** A minimal RESP2 connection: writes a batch of commands at once, then reads one reply each. */
class RespConnection {
  #buf = new Uint8Array(0);
  #pos = 0;
  /** Set after any I/O or protocol failure: the reply stream can no longer be trusted. */
  broken = false;

  private constructor(private readonly conn: Deno.Conn) {}

  static async open(url: URL): Promise<RespConnection> {
    const options = { hostname: url.hostname || "127.0.0.1", port: Number(url.port || 6379) };
    const tls = url.protocol === "rediss:";
    const redis = new RespConnection(
      tls ? await Deno.connectTls(options) : await Deno.connect(options),
    );
    const setup: string[][] = [];
    const [user, password] = [url.username, url.password].map(decodeURIComponent);
    if (password) setup.push(["AUTH", ...(user ? [user] : []), password!]);
    const db = url.pathname.replace(/^\//, "");
    if (db) setup.push(["SELECT", db]);
    try {
      const failed = (await redis.call(setup)).find((r) => r instanceof RedisError);
      if (failed) throw new Error(`redis connection setup failed: ${failed.message}`);
      return redis;
    } catch (e) {
      redis.close();
      throw e;
    }
  }

  async call(commands: string[][]): Promise<Reply[]> {
    try {
      const data = encodeCommands(commands);
      for (let off = 0; off < data.length;) off += await this.conn.write(data.subarray(off));
      const replies: Reply[] = [];
      for (let i = 0; i < commands.length; i++) replies.push(await this.#read());
      return replies;
    } catch (e) {
      this.broken = true;
      throw e;
    }
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }

  async #fill(): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    const n = await this.conn.read(chunk);
    if (n === null) throw new Error("redis closed the connection");
    const rest = this.#buf.subarray(this.#pos);
    const next = new Uint8Array(rest.length + n);
    next.set(rest);
    next.set(chunk.subarray(0, n), rest.length);
    this.#buf = next;
    this.#pos = 0;
  }

  async #line(): Promise<string> {
    for (;;) {
      const buf = this.#buf;
      let cr = buf.indexOf(13, this.#pos);
      while (cr !== -1 && cr + 1 < buf.length && buf[cr + 1] !== 10) cr = buf.indexOf(13, cr + 1);
      if (cr !== -1 && cr + 1 < buf.length) {
        const line = fromUtf8.decode(buf.subarray(this.#pos, cr));
        this.#pos = cr + 2;
        return line;
      }
      await this.#fill();
    }
  }

  async #read(): Promise<Reply> {
    const line = await this.#line();
    const [type, body] = [line[0], line.slice(1)];
    if (type === "+") return body;
    if (type === "-") return new RedisError(body);
    if (type === ":") return BigInt(body);
    if (type !== "$" && type !== "*") throw new Error(`bad RESP reply: ${JSON.stringify(line)}`);
    const n = Number(body);
    if (n < 0) return null;
    if (type === "*") {
      const items: Reply[] = [];
      for (let i = 0; i < n; i++) items.push(await this.#read());
      return items;
    }
    while (this.#buf.length - this.#pos < n + 2) await this.#fill();
    const bytes = this.#buf.slice(this.#pos, this.#pos + n);
    this.#pos += n + 2;
    return bytes;
  }
}

class Pool {
  #idle: RespConnection[] = [];
  #waiters: (() => void)[] = [];
  #size = 0;
  #closed = false;

  constructor(private readonly url: URL, private readonly max: number) {}

  async use<T>(fn: (c: RespConnection) => Promise<T>): Promise<T> {
    const conn = await this.#acquire();
    try {
      return await fn(conn);
    } finally {
      this.#release(conn);
    }
  }

  close(): void {
    this.#closed = true;
    for (const conn of this.#idle.splice(0)) conn.close();
    for (const wake of this.#waiters.splice(0)) wake();
  }

  async #acquire(): Promise<RespConnection> {
    for (;;) {
      if (this.#closed) throw new Error("gateway is closing");
      const idle = this.#idle.pop();
      if (idle) return idle;
      if (this.#size < this.max) {
        this.#size++;
        try {
          return await RespConnection.open(this.url);
        } catch (e) {
          this.#size--;
          this.#waiters.shift()?.();
          throw e;
        }
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  #release(conn: RespConnection): void {
    if (conn.broken || this.#closed) {
      conn.close();
      this.#size--;
    } else {
      this.#idle.push(conn);
    }
    this.#waiters.shift()?.();
  }
}

// These would change the state of a pooled connection or break request/reply framing.
const STATEFUL = new Set(
  ("AUTH CLIENT DISCARD EXEC HELLO MONITOR MULTI PSUBSCRIBE PUNSUBSCRIBE QUIT RESET SELECT " +
    "SSUBSCRIBE SUBSCRIBE SUNSUBSCRIBE UNSUBSCRIBE UNWATCH WATCH").split(" "),
);

/** A command as Redis arguments, or the reason it cannot be sent. */
function toArgs(raw: unknown): string[] | RedisError {
  if (!Array.isArray(raw) || raw.length === 0) {
    return new RedisError("ERR command must be a non-empty JSON array");
  }
  const args: string[] = [];
  for (const a of raw) {
    if (typeof a === "string") args.push(a);
    else if (typeof a === "number" || typeof a === "boolean") args.push(String(a));
    else return new RedisError("ERR command arguments must be strings, numbers or booleans");
  }
  if (STATEFUL.has(args[0]!.toUpperCase())) {
    return new RedisError(`ERR ${args[0]} is not supported by the REST gateway`);
  }
  return args;
}

function firstError(reply: Reply): RedisError | undefined {
  if (reply instanceof RedisError) return reply;
  return Array.isArray(reply) ? reply.map(firstError).find((e) => e) : undefined;
}

// Hand-written so integers beyond 2^53 keep every digit.
function toJson(reply: Reply, b64: boolean): string {
  if (reply === null) return "null";
  if (typeof reply === "bigint") return reply.toString();
  if (Array.isArray(reply)) return `[${reply.map((r) => toJson(r, b64)).join(",")}]`;
  if (typeof reply === "string") return JSON.stringify(b64 ? utf8.encode(reply).toBase64() : reply);
  if (reply instanceof Uint8Array) {
    return JSON.stringify(b64 ? reply.toBase64() : fromUtf8.decode(reply));
  }
  throw new Error("errors are reported, never encoded");
}

/** One `{"result":…}` / `{"error":…}` item; error messages are never base64-encoded. */
function item(reply: Reply, b64: boolean): { ok: boolean; json: string } {
  const error = firstError(reply);
  if (error) return { ok: false, json: `{"error":${JSON.stringify(error.message)}}` };
  // The live service leaves a top-level status "OK" unencoded; the client special-cases exactly
  // that (a nested "OK" it would base64-decode, so nested strings are always encoded).
  const result = b64 && reply === "OK" ? '"OK"' : toJson(reply, b64);
  return { ok: true, json: `{"result":${result}}` };
}

/** Sends the valid commands in one batch, keeping per-item errors for the invalid ones. */
async function runBatch(conn: RespConnection, commands: (string[] | RedisError)[]) {
  const valid = commands.filter((c): c is string[] => Array.isArray(c));
  const replies = valid.length > 0 ? await conn.call(valid) : [];
  let next = 0;
  return commands.map((c) => (c instanceof RedisError ? c : replies[next++]!));
}

async function runMultiExec(url: URL, commands: string[][]): Promise<Reply[]> {
  const conn = await RespConnection.open(url);
  try {
    const replies = await conn.call([["MULTI"], ...commands, ["EXEC"]]);
    const exec = replies[replies.length - 1]!;
    return commands.map((_, i) => {
      const queued = replies[i + 1]!;
      if (queued instanceof RedisError) return queued;
      if (exec instanceof RedisError) return exec;
      if (!Array.isArray(exec)) return new RedisError("EXECABORT transaction discarded");
      return exec[i] ?? null;
    });
  } finally {
    conn.close();
  }
}

const json = (status: number, body: string) =>
  new Response(body, { status, headers: { "content-type": "application/json" } });

export async function startUpstashGateway(options: UpstashGatewayOptions): Promise<UpstashGateway> {
  const { token, hostname = "127.0.0.1", port = 0, poolSize = 8 } = options;
  const redisUrl = new URL(options.redisUrl ?? "redis://127.0.0.1:6379");
  const pool = new Pool(redisUrl, poolSize);
  try {
    await pool.use((c) => c.call([["PING"]])); // fail at start-up, not at the first request
  } catch (e) {
    pool.close();
    throw new Error(`cannot reach redis at ${redisUrl.host}: ${e}`);
  }

  async function handle(req: Request): Promise<Response> {
    const auth = req.headers.get("authorization") ?? "";
    const given = auth.startsWith("Bearer ") ? auth.slice("Bearer ".length) : "";
    if (!(await timingSafeEqual(given, token))) return json(401, '{"error":"Unauthorized"}');
    const path = new URL(req.url).pathname.replace(/\/+$/, "") || "/";
    if (req.method !== "POST" || !["/", "/pipeline", "/multi-exec"].includes(path)) {
      return json(404, JSON.stringify({ error: `ERR unsupported: ${req.method} ${path}` }));
    }
    let body: unknown;
    try {
      body = await req.json();
    } catch {
      return json(400, '{"error":"ERR request body is not valid JSON"}');
    }
    const b64 = req.headers.get("upstash-encoding")?.toLowerCase() === "base64";
    try {
      if (path === "/") {
        const [reply] = await pool.use((c) => runBatch(c, [toArgs(body)]));
        const out = item(reply!, b64);
        return json(out.ok ? 200 : 400, out.json);
      }
      if (!Array.isArray(body) || body.length === 0) {
        return json(400, '{"error":"ERR body must be a non-empty array of commands"}');
      }
      const commands = body.map(toArgs);
      let replies: Reply[];
      if (path === "/pipeline") {
        replies = await pool.use((c) => runBatch(c, commands));
      } else {
        const invalid = commands.find((c) => c instanceof RedisError);
        // A transaction must not run partially, so a bad command rejects the whole request.
        if (invalid) return json(400, JSON.stringify({ error: invalid.message }));
        replies = await runMultiExec(redisUrl, commands as string[][]);
      }
      return json(200, `[${replies.map((r) => item(r, b64).json).join(",")}]`);
    } catch (e) {
      return json(502, JSON.stringify({ error: `ERR redis unavailable: ${e}` }));
    }
  }

  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ hostname, port, onListen() {} }, handle);
  } catch (e) {
    pool.close(); // e.g. the port is taken: leave no Redis connection behind
    throw e;
  }
  const addr = server.addr;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return {
    url: `http://${host}:${addr.port}`,
    token,
    async close() {
      await server.shutdown();
      pool.close();
    },
  };
}

if (import.meta.main) {
  const redisUrl = Deno.env.get("REDIS_URL") ?? "redis://127.0.0.1:6379";
  const gateway = await startUpstashGateway({
    port: Number(Deno.env.get("GATEWAY_PORT") ?? 8079),
    hostname: Deno.env.get("GATEWAY_HOSTNAME") ?? "127.0.0.1",
    token: Deno.env.get("GATEWAY_TOKEN") ?? "stockroom-test-token",
    redisUrl,
  });
  console.log(`upstash gateway listening on ${gateway.url} -> ${redisUrl}`);
  const stop = () => gateway.close().finally(() => Deno.exit(0));
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}

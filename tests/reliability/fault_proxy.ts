/**
 * A TCP fault proxy for the reliability suite: it sits between a service and one of its
 * dependencies (PostgreSQL, the Upstash REST gateway, MongoDB, the products service) and can be
 * switched at runtime between
 *
 * - `pass`: pipes bytes both ways;
 * - `refuse`: the dependency is down: existing connections are closed and every new connection is
 *   closed right after it is accepted;
 * - `blackhole`: a network partition: new connections are accepted but never forwarded, existing
 *   ones stop carrying bytes in either direction (nothing is dropped: when the mode changes the
 *   held bytes flow on, as after a partition heals);
 * - `cut`: connections die mid-stream: existing connections are destroyed, and each new one is
 *   forwarded until the dependency's first answer, of which only half is delivered before both
 *   sides are closed (requests reach the dependency, answers never arrive whole);
 * - `slow`: every chunk from the dependency is delayed by `latencyMs` (for shutdown tests).
 */

export type FaultMode = "pass" | "refuse" | "blackhole" | "cut" | "slow";

export interface FaultProxyOptions {
  upstreamHost?: string;
  upstreamPort: number;
  /** Delay per chunk from the dependency in `slow` mode. */
  latencyMs?: number;
}

export interface FaultProxyStats {
  accepted: number;
  refused: number;
  /** Connections destroyed by `refuse`/`cut` switches or cut mid-answer. */
  cut: number;
  /** Connections that arrived during a black hole. */
  held: number;
}

class Link {
  upstream?: Deno.Conn;
  closed = false;
  constructor(readonly client: Deno.Conn, private readonly onClose: (link: Link) => void) {}

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    for (const conn of [this.client, this.upstream]) {
      try {
        conn?.close();
      } catch { /* already closed */ }
    }
    this.onClose(this);
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

export class FaultProxy {
  readonly port: number;
  readonly stats: FaultProxyStats = { accepted: 0, refused: 0, cut: 0, held: 0 };
  readonly #listener: Deno.Listener;
  readonly #upstream: { hostname: string; port: number };
  readonly #latencyMs: number;
  readonly #links = new Set<Link>();
  #mode: FaultMode = "pass";
  #changed = Promise.withResolvers<void>();
  #closed = false;
  readonly #accepting: Promise<void>;

  constructor(options: FaultProxyOptions) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#upstream = { hostname: options.upstreamHost ?? "127.0.0.1", port: options.upstreamPort };
    this.#latencyMs = options.latencyMs ?? 200;
    this.#accepting = this.#accept();
  }

  get mode(): FaultMode {
    return this.#mode;
  }

  /** Open connections (client side), for figures. */
  get connections(): number {
    return this.#links.size;
  }

  setMode(mode: FaultMode): void {
    this.#mode = mode;
    if (mode === "refuse" || mode === "cut") {
      for (const link of [...this.#links]) {
        this.stats.cut++;
        link.destroy();
      }
    }
    const previous = this.#changed;
    this.#changed = Promise.withResolvers<void>();
    previous.resolve();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    for (const link of [...this.#links]) link.destroy();
    this.#changed.resolve();
    await this.#accepting;
  }

  /** Resolves once the mode is not `blackhole` (or the link died meanwhile). */
  async #gate(link: Link): Promise<void> {
    while (this.#mode === "blackhole" && !link.closed && !this.#closed) {
      await this.#changed.promise;
    }
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        this.stats.accepted++;
        void this.#handle(conn);
      }
    } catch { /* listener closed */ }
  }

  async #handle(conn: Deno.Conn): Promise<void> {
    const link = new Link(conn, (l) => this.#links.delete(l));
    this.#links.add(link);
    if (this.#mode === "blackhole") this.stats.held++;
    await this.#gate(link);
    if (link.closed) return;
    if (this.#mode === "refuse" || this.#closed) {
      this.stats.refused++;
      link.destroy();
      return;
    }
    let upstream: Deno.Conn;
    try {
      upstream = await Deno.connect(this.#upstream);
    } catch {
      link.destroy();
      return;
    }
    link.upstream = upstream;
    if (link.closed) {
      upstream.close();
      return;
    }
    void this.#pump(link, conn, upstream, "up");
    void this.#pump(link, upstream, conn, "down");
  }

  async #pump(link: Link, from: Deno.Conn, to: Deno.Conn, direction: "up" | "down") {
    const buffer = new Uint8Array(64 * 1024);
    try {
      while (!link.closed) {
        const n = await from.read(buffer);
        if (n === null) break;
        await this.#gate(link);
        if (link.closed) break;
        const chunk = buffer.subarray(0, n);
        if (direction === "down" && this.#mode === "cut") {
          await writeAll(to, chunk.subarray(0, Math.max(1, n >> 1)));
          this.stats.cut++;
          break;
        }
        if (direction === "down" && this.#mode === "slow") {
          await new Promise((resolve) => setTimeout(resolve, this.#latencyMs));
          if (link.closed) break;
        }
        await writeAll(to, chunk);
      }
    } catch { /* the link was destroyed, or a peer reset */ }
    link.destroy();
  }
}

/** Where a {@link LineWriter} puts its bytes: `Deno.stdout` in production, a collector in tests. */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<number>;
  writeSync(bytes: Uint8Array): number;
}

export interface LineWriterOptions {
  /** Buffered bytes that start a write (default 16 KiB). */
  minBytes?: number;
  /** Bytes waiting beyond which new lines are dropped, counted and reported (default 16 MiB). */
  maxBytes?: number;
}

const encoder = new TextEncoder();
const CHUNK_BYTES = 64 * 1024;

/**
 * pino's destination for stdout: each line is encoded straight into a reused 64 KiB chunk, and
 * full chunks are written in order by one asynchronous writer at a time. It replaces pino's own
 * (sonic-boom), which measures the byte length of the whole pending buffer on every line, and
 * joining lines into one string before encoding, which flattened every line twice: together a
 * large share of a cached read's CPU, profiling showed. When stdout cannot keep up, what waits is
 * bounded: later lines are dropped and a `log.dropped` line says how many, instead of the process
 * growing without limit.
 */
export class LineWriter {
  readonly #sink: ByteSink;
  readonly #minBytes: number;
  readonly #maxBytes: number;
  #chunk = new Uint8Array(CHUNK_BYTES);
  #used = 0;
  /** Filled chunks waiting for the writer, oldest first, and their total size. */
  #queue: Uint8Array[] = [];
  #queued = 0;
  #spare: Uint8Array<ArrayBuffer> | null = null;
  #dropped = 0;
  #writing: Promise<void> | null = null;

  constructor(sink: ByteSink, options: LineWriterOptions = {}) {
    this.#sink = sink;
    this.#minBytes = Math.min(options.minBytes ?? 16 * 1024, CHUNK_BYTES);
    this.#maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
  }

  /** pino calls this with one serialized line (ending in "\n"). */
  write(line: string): boolean {
    // A UTF-16 code unit never takes more than 3 bytes in UTF-8.
    const worst = line.length * 3;
    if (this.#queued + this.#used + worst > this.#maxBytes) {
      this.#dropped++;
      return false;
    }
    if (worst > CHUNK_BYTES - this.#used) {
      this.#seal();
      if (worst > CHUNK_BYTES) {
        this.#enqueue(encoder.encode(line));
        this.flush();
        return true;
      }
    }
    this.#used += encoder.encodeInto(line, this.#chunk.subarray(this.#used)).written;
    if (this.#used >= this.#minBytes) this.flush();
    return true;
  }

  /** Starts writing what is buffered; `done` is called once everything buffered so far is out. */
  flush(done?: (err?: Error) => void): void {
    this.#seal();
    if (!this.#writing && this.#queue.length > 0) {
      this.#writing = this.#drain().finally(() => {
        this.#writing = null;
      });
    }
    if (done) {
      (this.#writing ?? Promise.resolve()).then(() => done(), done);
    }
  }

  /** Writes what is buffered synchronously (at exit). A chunk already being written is left be. */
  flushSync(): void {
    this.#seal();
    const chunks = this.#queue.splice(0);
    this.#queued = 0;
    try {
      for (const bytes of chunks) {
        for (let offset = 0, n = 1; offset < bytes.length && n > 0; offset += n) {
          n = this.#sink.writeSync(bytes.subarray(offset));
        }
      }
    } catch {
      // At exit, with stdout gone, there is nowhere left to write.
    }
  }

  /** Moves the current chunk's lines (and any drop report) to the queue. */
  #seal(): void {
    if (this.#dropped > 0) {
      const report = `${
        JSON.stringify({ level: "WARN", message: "log.dropped", lines: this.#dropped })
      }\n`;
      this.#dropped = 0;
      if (this.#used + report.length * 3 <= CHUNK_BYTES) {
        this.#used += encoder.encodeInto(report, this.#chunk.subarray(this.#used)).written;
      } else {
        this.#seal();
        this.#enqueue(encoder.encode(report));
      }
    }
    if (this.#used === 0) return;
    this.#enqueue(this.#chunk.subarray(0, this.#used));
    this.#chunk = this.#spare ?? new Uint8Array(CHUNK_BYTES);
    this.#spare = null;
    this.#used = 0;
  }

  #enqueue(bytes: Uint8Array): void {
    this.#queue.push(bytes);
    this.#queued += bytes.length;
  }

  async #drain(): Promise<void> {
    for (let bytes = this.#queue.shift(); bytes; bytes = this.#queue.shift()) {
      try {
        for (let offset = 0, n = 1; offset < bytes.length && n > 0; offset += n) {
          n = await this.#sink.write(bytes.subarray(offset));
        }
      } catch {
        // stdout is gone (a closed pipe): there is nowhere left to report it; drop the chunk.
      }
      this.#queued -= bytes.length;
      // A written full-size chunk is kept for reuse, so a steady stream allocates nothing.
      if (bytes.buffer instanceof ArrayBuffer && bytes.buffer.byteLength === CHUNK_BYTES) {
        this.#spare = new Uint8Array(bytes.buffer);
      }
    }
  }
}

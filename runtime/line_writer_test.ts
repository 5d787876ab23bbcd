import assert from "node:assert/strict";
import { type ByteSink, LineWriter } from "./line_writer.ts";

/** Accepts at most `chunk` bytes per call, asynchronously, like a pipe that takes partial writes. */
function collector(chunk = Infinity): ByteSink & { text(): string; calls: number } {
  const parts: Uint8Array[] = [];
  let calls = 0;
  const take = (bytes: Uint8Array) => {
    calls++;
    const n = Math.min(bytes.length, chunk);
    parts.push(bytes.slice(0, n));
    return n;
  };
  return {
    write: async (bytes) => {
      await Promise.resolve();
      return take(bytes);
    },
    writeSync: take,
    text: () => new TextDecoder().decode(new Uint8Array(parts.flatMap((p) => [...p]))),
    get calls() {
      return calls;
    },
  };
}

function flushed(writer: LineWriter): Promise<void> {
  return new Promise((resolve, reject) => writer.flush((err) => err ? reject(err) : resolve()));
}

Deno.test("LineWriter batches lines and writes them in order, partial writes included", async () => {
  const sink = collector(7);
  const writer = new LineWriter(sink, { minBytes: 1000 });
  const lines = Array.from({ length: 50 }, (_, i) => `{"n":${i},"é":"ü"}\n`);
  for (const line of lines) writer.write(line);
  await flushed(writer);
  assert.equal(sink.text(), lines.join(""));
});

Deno.test("LineWriter holds small output until flushed, then writes it in one batch", async () => {
  const sink = collector();
  const writer = new LineWriter(sink, { minBytes: 1000 });
  writer.write("a\n");
  writer.write("b\n");
  await Promise.resolve();
  assert.equal(sink.calls, 0);
  await flushed(writer);
  assert.equal(sink.text(), "a\nb\n");
  assert.equal(sink.calls, 1);
});

Deno.test("LineWriter starts writing by itself once minBytes are buffered", async () => {
  const sink = collector();
  const writer = new LineWriter(sink, { minBytes: 10 });
  writer.write("0123456789\n");
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(sink.text(), "0123456789\n");
});

Deno.test("LineWriter keeps lines written during a write and sends them after it", async () => {
  const sink = collector(3);
  const writer = new LineWriter(sink, { minBytes: 1 });
  writer.write("first\n");
  writer.write("second\n");
  await flushed(writer);
  assert.equal(sink.text(), "first\nsecond\n");
});

Deno.test("LineWriter drops lines past maxBytes and reports how many", async () => {
  const sink = collector();
  // Room is judged by the worst case (3 bytes a UTF-16 unit): 9 + 27 > 30.
  const writer = new LineWriter(sink, { minBytes: 1000, maxBytes: 30 });
  assert.equal(writer.write("12345678\n"), true);
  assert.equal(writer.write("abcdefgh\n"), false);
  assert.equal(writer.write("ijklmnop\n"), false);
  await flushed(writer);
  const [kept, report] = sink.text().trim().split("\n");
  assert.equal(kept, "12345678");
  assert.deepEqual(JSON.parse(report!), { level: "WARN", message: "log.dropped", lines: 2 });
  // Once written, there is room again.
  assert.equal(writer.write("12345678\n"), true);
});

Deno.test("LineWriter writes a line longer than its chunk on its own, in order", async () => {
  const sink = collector();
  const writer = new LineWriter(sink, { minBytes: 1000 });
  const long = `${"é".repeat(40_000)}\n`;
  writer.write("before\n");
  writer.write(long);
  writer.write("after\n");
  await flushed(writer);
  assert.equal(sink.text(), `before\n${long}after\n`);
});

Deno.test("LineWriter reuses its chunks across many batches without mixing them up", async () => {
  const sink = collector();
  const writer = new LineWriter(sink, { minBytes: 4096 });
  const lines = Array.from(
    { length: 5000 },
    (_, i) => `{"n":${i},"pad":"${"x".repeat(i % 97)}"}\n`,
  );
  for (const line of lines) writer.write(line);
  await flushed(writer);
  assert.equal(sink.text(), lines.join(""));
});

Deno.test("LineWriter.flushSync writes what is buffered at once", () => {
  const sink = collector(4);
  const writer = new LineWriter(sink, { minBytes: 1000 });
  writer.write("bye\n");
  writer.write("now\n");
  writer.flushSync();
  assert.equal(sink.text(), "bye\nnow\n");
});

Deno.test("LineWriter survives a sink that fails", async () => {
  const writer = new LineWriter({
    write: () => Promise.reject(new Error("EPIPE")),
    writeSync: () => 0,
  }, { minBytes: 1 });
  writer.write("lost\n");
  await flushed(writer);
  writer.write("also lost\n");
  await flushed(writer);
});

Deno.test("LineWriter.flushSync gives up on a sink that takes nothing or throws", () => {
  for (
    const writeSync of [() => 0, () => {
      throw new Error("EBADF");
    }]
  ) {
    const writer = new LineWriter({ write: () => Promise.resolve(0), writeSync }, { minBytes: 99 });
    writer.write("x\n");
    writer.flushSync();
  }
});

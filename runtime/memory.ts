/**
 * Hands memory the process no longer uses back to the operating system: a full V8 garbage
 * collection, then glibc's `malloc_trim(0)`. Each step is skipped where it is unavailable (another
 * libc, no `--allow-ffi`).
 *
 * For the embedded database, whose first start runs initdb in a throwaway PGlite (its own ~190 MB
 * WASM memory, a copy of it and the data directory as a tar): V8 keeps that garbage until some later
 * major GC, and glibc keeps freed native buffers in its arenas. Measured on products under
 * `deno task dev` (2026-12-02, commit c80d7e7 plus the PGlite buffer change): idle RSS 595 → 151–186 MB
 * after a first start, 201–224 → 156–200 MB after a later one. A full GC blocks for ~100 ms, so
 * callers run it only once a burst of work is over.
 */
import v8 from "node:v8";
import vm from "node:vm";

type Gc = (options?: { type: "major"; execution: "sync"; flavor: "last-resort" }) => void;
let gc: Gc | null | undefined;
let mallocTrim: ((pad: bigint) => number) | null | undefined;

export function releaseMemory(): void {
  if (gc === undefined) {
    try {
      // Deno runs V8 with flags unfrozen after start-up; a new context then gets the gc extension.
      v8.setFlagsFromString("--expose-gc");
      gc = vm.runInNewContext("gc") as Gc;
    } catch {
      gc = null;
    }
  }
  // The last-resort flavour also shrinks the heap (a plain major GC frees objects but keeps their
  // pages, so RSS stays where it was).
  gc?.({ type: "major", execution: "sync", flavor: "last-resort" });
  if (mallocTrim === undefined) {
    mallocTrim = null;
    // Asked first: without the permission, dlopen would prompt on a terminal.
    if (
      Deno.build.os === "linux" && Deno.permissions.querySync({ name: "ffi" }).state === "granted"
    ) {
      try {
        const libc = Deno.dlopen("libc.so.6", {
          malloc_trim: { parameters: ["usize"], result: "i32" },
        });
        mallocTrim = (pad) => libc.symbols.malloc_trim(pad);
      } catch {
        // Not glibc, or no --allow-ffi: the GC alone still returns most of it.
      }
    }
  }
  mallocTrim?.(0n);
}

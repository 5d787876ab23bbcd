/**
 * The architecture, checked on the module graph: the hexagon's core loads nothing from npm, each
 * shared member depends only on what its name says, shared code never reaches into a service, and
 * no module imports itself back.
 */
import assert from "node:assert/strict";

const REPO = new URL("../", import.meta.url);
const CONFIG = new URL("deno.json", REPO).pathname;

interface GraphModule {
  specifier: string;
  kind?: string;
  npmPackage?: string;
  dependencies?: {
    specifier: string;
    code?: { specifier?: string };
    type?: { specifier?: string };
  }[];
}

async function graph(file: string): Promise<GraphModule[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--config", CONFIG, new URL(file, REPO).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout)).modules;
}

/** The npm packages (name only) a file's graph loads, static and dynamic imports alike. */
function npmPackages(modules: GraphModule[]): string[] {
  const names = new Set<string>();
  for (const m of modules) {
    if (m.kind !== "npm" && !m.specifier.startsWith("npm:")) continue;
    const pkg = m.npmPackage ?? m.specifier.replace(/^npm:\/?/, "");
    names.add(pkg.startsWith("@") ? "@" + pkg.slice(1).split("@")[0] : pkg.split("@")[0]!);
  }
  return [...names].sort();
}

function localFiles(modules: GraphModule[]): string[] {
  return modules.map((m) => m.specifier).filter((s) => s.startsWith(REPO.href))
    .map((s) => s.slice(REPO.href.length));
}

async function filesUnder(dir: string, filter = (name: string) => name.endsWith(".ts")) {
  const files: string[] = [];
  for await (const entry of Deno.readDir(new URL(dir, REPO))) {
    const path = `${dir}${entry.name}`;
    if (entry.isDirectory) files.push(...await filesUnder(`${path}/`, filter));
    else if (filter(entry.name)) files.push(path);
  }
  return files.sort();
}

const production = (name: string) => name.endsWith(".ts") && !name.endsWith("_test.ts");

Deno.test("architecture: domain/ and application/ load nothing from npm, nor any framework", async () => {
  const core = [
    ...await filesUnder("products/domain/", production),
    ...await filesUnder("products/application/", production),
    ...await filesUnder("inventory/domain/", production),
    ...await filesUnder("inventory/application/", production),
  ];
  assert.ok(core.length >= 6, `found the core files: ${core}`);
  for (const file of core) {
    const modules = await graph(file);
    assert.deepEqual(npmPackages(modules), [], `${file} loads npm packages`);
    const outside = localFiles(modules).filter((f) =>
      !f.startsWith("kernel/") && !/^(products|inventory)\/(domain|application)\//.test(f)
    );
    assert.deepEqual(outside, [], `${file} reaches beyond the kernel and the core`);
  }
});

Deno.test("architecture: each shared member depends only on what its name says", async () => {
  const allowed: Record<string, string[]> = {
    kernel: [],
    http: ["@hono/zod-validator", "@opentelemetry/api", "hono", "pino", "prom-client", "zod"],
    runtime: ["@opentelemetry/api", "pino", "prom-client", "zod"],
  };
  for (const [member, packages] of Object.entries(allowed)) {
    for (const file of await filesUnder(`${member}/`, production)) {
      if (file === "runtime/preload.ts") continue; // loads what a service asks for, by design
      const used = npmPackages(await graph(file));
      const extra = used.filter((p) => !packages.includes(p));
      assert.deepEqual(extra, [], `${file} loads ${extra.join(", ")}`);
    }
  }
  // The boot shell opens the port before anything heavy loads: it imports nothing from npm.
  assert.deepEqual(npmPackages(await graph("runtime/boot.ts")), []);
});

Deno.test("architecture: shared members never import a service, and no module imports itself back", async () => {
  const seen = new Map<string, string[]>();
  for (const entry of ["products/main.ts", "inventory/main.ts"]) {
    for (const m of await graph(entry)) {
      if (!m.specifier.startsWith(REPO.href)) continue;
      const deps = (m.dependencies ?? [])
        .flatMap((d) => [d.code?.specifier, d.type?.specifier])
        .filter((s): s is string => s !== undefined && s.startsWith(REPO.href))
        .map((s) => s.slice(REPO.href.length));
      seen.set(m.specifier.slice(REPO.href.length), deps);
    }
  }
  for (const [file, deps] of seen) {
    if (/^(kernel|runtime|http)\//.test(file)) {
      const intoService = deps.filter((d) => /^(products|inventory)\//.test(d));
      assert.deepEqual(intoService, [], `${file} imports a service`);
    }
  }
  // Depth-first search for a back edge.
  const state = new Map<string, "open" | "done">();
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === "done") return;
    assert.notEqual(state.get(file), "open", `import cycle: ${[...path, file].join(" → ")}`);
    state.set(file, "open");
    for (const dep of seen.get(file) ?? []) visit(dep, [...path, file]);
    state.set(file, "done");
  };
  for (const file of seen.keys()) visit(file, []);
});

Deno.test("architecture: no production file is over 300 lines", async () => {
  const members = ["kernel/", "runtime/", "http/", "products/", "inventory/"];
  for (const member of members) {
    for (const file of await filesUnder(member, production)) {
      const lines = (await Deno.readTextFile(new URL(file, REPO))).split("\n").length - 1;
      assert.ok(lines <= 300, `${file} has ${lines} lines`);
    }
  }
});

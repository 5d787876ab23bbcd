import assert from "node:assert/strict";

/**
 * The container setup, checked offline (no Docker engine needed): `docker-compose.yml` must pass
 * `docker-compose config` (Debian's `docker-compose` package; CI installs it) and wire the
 * services as documented, and each Dockerfile must use the Deno version CI pins, as user `deno`.
 */

const REPO = new URL("../", import.meta.url);
const REPO_DIR = new URL(".", REPO).pathname.replace(/\/$/, "");
const COMPOSE_FILE = new URL("docker-compose.yml", REPO).pathname;
const SERVICES = ["products", "inventory"] as const;

/** The `docker-compose` executable on PATH, or null; the compose tests are ignored without it. */
function findOnPath(name: string): string | null {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    const path = `${dir}/${name}`;
    try {
      const info = Deno.statSync(path);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return path;
    } catch {
      // Not in this directory.
    }
  }
  return null;
}

const DOCKER_COMPOSE = findOnPath("docker-compose");
const found = DOCKER_COMPOSE !== null;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `docker-compose -f docker-compose.yml <args>` from the repository root with a clean
 * environment (plus `env`), so a developer's API_KEY or SRH_TOKEN cannot change the result.
 */
async function compose(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const out = await new Deno.Command(DOCKER_COMPOSE!, {
    args: ["-f", COMPOSE_FILE, ...args],
    cwd: REPO_DIR,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? "/",
      ...env,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

// deno-lint-ignore no-explicit-any
type Json = any;

/**
 * The normalized configuration as data. Compose v2 prints JSON itself (`--format json`); the
 * Python Compose v1 that Debian bookworm ships prints YAML only, so its own interpreter (which
 * has PyYAML, a dependency of the package) turns that YAML into JSON.
 */
async function normalizedConfig(env: Record<string, string> = {}): Promise<Json> {
  // v1 answers an unknown option with its usage text, and exit code 0: look for a JSON object.
  const json = await compose(["config", "--format", "json"], env);
  if (json.code === 0 && json.stdout.trimStart().startsWith("{")) return JSON.parse(json.stdout);
  const yaml = await compose(["config"], env);
  assert.equal(yaml.code, 0, `docker-compose config failed:\n${yaml.stderr}`);
  const shebang = (await Deno.readTextFile(DOCKER_COMPOSE!)).split("\n", 1)[0] ?? "";
  const python = shebang.startsWith("#!") && shebang.includes("python")
    ? shebang.slice(2).trim().split(/\s+/)
    : ["python3"];
  const child = new Deno.Command(python[0]!, {
    args: [
      ...python.slice(1),
      "-c",
      "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(yaml.stdout));
  await writer.close();
  const out = await child.output();
  assert.equal(out.code, 0, `YAML to JSON failed:\n${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** A service's environment as a map, whichever form (map or KEY=VALUE list) the tool prints. */
function environment(service: Json): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry: string) => {
      const at = entry.indexOf("=");
      return at < 0 ? [entry, ""] : [entry.slice(0, at), entry.slice(at + 1)];
    }));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v ?? "")]));
}

function healthyDependencies(service: Json): string[] {
  const deps = service.depends_on ?? {};
  return Object.entries(deps)
    .filter(([, v]) => (v as Json)?.condition === "service_healthy")
    .map(([k]) => k)
    .sort();
}

Deno.test({
  name: "compose: docker-compose.yml is valid (docker-compose config -q)",
  ignore: !found,
}, async () => {
  const run = await compose(["config", "-q"]);
  assert.equal(run.code, 0, `docker-compose config -q failed:\n${run.stderr}`);
});

Deno.test({
  name: "compose: stores, SRH and both services are wired, healthchecked and ordered",
  ignore: !found,
}, async () => {
  const config = await normalizedConfig();
  const services = config.services as Record<string, Json>;
  assert.deepEqual(
    Object.keys(services).sort(),
    ["inventory", "mongo", "postgres", "products", "redis", "srh"],
  );

  assert.equal(services.postgres.image, "postgres:16");
  assert.equal(services.mongo.image, "mongo:7");
  assert.equal(services.redis.image, "redis:7");
  assert.equal(services.srh.image, "hiett/serverless-redis-http:latest");

  for (const name of SERVICES) {
    const build = services[name].build;
    assert.ok(build, `${name} must be built, not pulled`);
    assert.equal(String(build.context).replace(/\/$/, ""), REPO_DIR, `${name}: build context`);
    assert.equal(build.dockerfile, `${name}/Dockerfile`, `${name}: dockerfile`);
  }

  for (const [name, service] of Object.entries(services)) {
    const test = service.healthcheck?.test;
    assert.ok(
      Array.isArray(test) && test.length > 1 && test[0] !== "NONE" && !service.healthcheck.disable,
      `${name} has no healthcheck`,
    );
  }
  for (const name of SERVICES) {
    const port = name === "products" ? 8001 : 8002;
    assert.ok(
      services[name].healthcheck.test.join(" ").includes(`:${port}/health`),
      `${name}: the healthcheck calls /health`,
    );
    const ports = (services[name].ports ?? []) as Json[];
    assert.ok(
      ports.some((p) =>
        typeof p === "object"
          ? String(p.published) === String(port) && Number(p.target) === port
          : String(p).endsWith(`${port}:${port}`)
      ),
      `${name}: port ${port} is published`,
    );
  }

  assert.deepEqual(healthyDependencies(services.products), ["postgres", "srh"]);
  assert.deepEqual(healthyDependencies(services.inventory), ["mongo", "products"]);
  assert.deepEqual(healthyDependencies(services.srh), ["redis"]);

  const srh = environment(services.srh);
  const products = environment(services.products);
  const inventory = environment(services.inventory);
  assert.equal(srh.SRH_MODE, "env");
  assert.equal(srh.SRH_CONNECTION_STRING, "redis://redis:6379");
  assert.ok(srh.SRH_TOKEN, "SRH_TOKEN is set");
  assert.equal(products.UPSTASH_REDIS_REST_TOKEN, srh.SRH_TOKEN);
  assert.equal(products.UPSTASH_REDIS_REST_URL, "http://srh:80");
  assert.match(products.DATABASE_URL ?? "", /^postgres(ql)?:\/\/[^@]+@postgres:5432\/\w+$/);
  assert.match(inventory.MONGODB_URL ?? "", /^mongodb:\/\/mongo:27017\/?$/);
  assert.ok(inventory.MONGODB_DB, "MONGODB_DB is set");
  assert.equal(inventory.PRODUCTS_SERVICE_URL, "http://products:8001");
  // The services refuse keys under 16 characters, and inventory calls products with its own.
  assert.ok((products.API_KEY ?? "").length >= 16, "API_KEY default has at least 16 characters");
  assert.equal(inventory.API_KEY, products.API_KEY);

  const volumes = Object.keys(config.volumes ?? {}).sort();
  assert.ok(volumes.length >= 2, "named volumes for the stores' data");
});

Deno.test({
  name: "compose: API_KEY and SRH_TOKEN from the environment reach every side",
  ignore: !found,
}, async () => {
  const config = await normalizedConfig({
    API_KEY: "from-the-environment-0123456789",
    SRH_TOKEN: "srh-token-from-the-environment",
  });
  const services = config.services as Record<string, Json>;
  const products = environment(services.products);
  assert.equal(environment(services.srh).SRH_TOKEN, "srh-token-from-the-environment");
  assert.equal(products.UPSTASH_REDIS_REST_TOKEN, "srh-token-from-the-environment");
  assert.equal(products.API_KEY, "from-the-environment-0123456789");
  assert.equal(environment(services.inventory).API_KEY, "from-the-environment-0123456789");
});

Deno.test("Dockerfiles: pinned Deno image, non-root, every workspace member present", async () => {
  const ci = await Deno.readTextFile(new URL(".ci/run", REPO));
  const version = ci.match(/^DENO_VERSION=["']?([^"'\s]+)/m)?.[1];
  assert.ok(version, ".ci/run pins DENO_VERSION");
  const root = JSON.parse(await Deno.readTextFile(new URL("deno.json", REPO)));
  const members = (root.workspace as string[]).map((m) =>
    m.replace(/^\.\//, "").replace(/\/$/, "")
  );

  for (const name of SERVICES) {
    const text = await Deno.readTextFile(new URL(`${name}/Dockerfile`, REPO));
    // Instructions only: comments and blank lines dropped, continuation lines joined.
    const instructions = text.replace(/\\\n/g, " ").split("\n").map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    assert.equal(instructions[0], `FROM denoland/deno:${version}`, `${name}: first instruction`);
    const users = instructions.filter((l) => /^USER\s/i.test(l));
    assert.ok(users.length > 0 && users.at(-1) === "USER deno", `${name}: runs as USER deno`);
    const cmd = instructions.find((l) => /^CMD\s/i.test(l)) ?? "";
    assert.ok(cmd.includes(`"${name}/main.ts"`), `${name}: CMD runs ${name}/main.ts`);
    assert.ok(!/"(-A|--allow-all)"/.test(cmd), `${name}: CMD grants named permissions, not -A`);
    assert.ok(
      instructions.some((l) => l.startsWith("RUN deno install") && l.includes(`${name}/main.ts`)),
      `${name}: dependencies are cached at build time`,
    );
    assert.ok(instructions.includes(`EXPOSE ${name === "products" ? 8001 : 8002}`));
    // Deno skips a missing workspace member with a warning on every start; copy each one's config.
    const copies = instructions.filter((l) => /^COPY\s/i.test(l)).join("\n");
    for (const member of members) {
      assert.ok(
        copies.includes(` ${member}/ `) || copies.includes(` ${member}/deno.json `),
        `${name}: workspace member ${member} is copied`,
      );
    }
  }
});

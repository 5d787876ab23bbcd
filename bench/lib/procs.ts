/**
 * Processes the bench starts: services and ceilings as `deno run` children, each with its stdout
 * and stderr appended to a log file (so the access log is really written, as in production, without
 * the bench spending CPU on reading it). Every child is registered; `stopAll()` ends what is left,
 * and run.ts calls it on success, failure and SIGINT/SIGTERM.
 */
import { BLANK_BACKENDS } from "../../tests/e2e/services.ts";

export const REPO = new URL("../../", import.meta.url).pathname;
export const CONFIG = `${REPO}deno.json`;

/** ≥ 16 characters, as production config demands. */
export const BENCH_API_KEY = "bench-api-key-0123456789abcdef";

const STOP_TIMEOUT_MS = 8_000;
const START_TIMEOUT_MS = 90_000;

export interface Proc {
  name: string;
  pid: number;
  port: number;
  url: string;
  logPath: string;
  /** True once the process has exited. */
  exited(): boolean;
  /** How it ended ("exit code 1", "signal SIGKILL"), once it has. */
  exitStatus(): string | undefined;
  /** SIGTERM, then SIGKILL after 8 s; idempotent; resolves once the process is gone. */
  stop(): Promise<void>;
}

const live = new Set<Proc>();
const tempDirs = new Set<string>();
/** Other children (wrk): killed outright by stopAll() if still running. */
const helpers = new Set<Deno.ChildProcess>();

/** Registers a helper child until its status settles. */
export function trackHelper(child: Deno.ChildProcess): void {
  helpers.add(child);
  child.status.finally(() => helpers.delete(child));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

export async function makeTempDir(prefix: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: `stockroom-bench-${prefix}-` });
  tempDirs.add(dir);
  return dir;
}

export interface SpawnOptions {
  name: string;
  /** Path of the script, relative to the repository root. */
  script: string;
  env: Record<string, string>;
  cwd: string;
  /** Defaults to a free port; passed as PORT. */
  port?: number;
  /** Extra `deno run` flags before the script (e.g. `--watch`). */
  flags?: string[];
  /**
   * The signal that ends it (SIGTERM by default). `deno run --watch` outlives its script on
   * SIGTERM (the watcher waits for a change and starts it again); SIGINT ends the watcher too.
   */
  stopSignal?: Deno.Signal;
}

/**
 * Starts `deno run -A [flags] --config deno.json <script>` (no waiting); PORT and API_KEY are set.
 * `deno run` serves in its own process (no child: checked by `servingPids`), and `exec` below
 * makes the shell become deno, so the pid held is the server's (for VmRSS, CPU time, signals).
 */
export function spawnDeno(options: SpawnOptions): Proc {
  const port = options.port ?? freePort();
  const logPath = `${options.cwd}/${options.name}.log`;
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      'log=$1; shift; exec "$@" >>"$log" 2>&1',
      "sh",
      logPath,
      Deno.execPath(),
      "run",
      "-A",
      ...(options.flags ?? []),
      "--config",
      CONFIG,
      `${REPO}${options.script}`,
    ],
    cwd: options.cwd,
    env: {
      ...BLANK_BACKENDS,
      PORT: String(port),
      API_KEY: BENCH_API_KEY,
      LOG_LEVEL: "info",
      ...options.env,
    },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let exitedFlag = false;
  let exitText: string | undefined;
  const status = child.status.then((s) => {
    exitedFlag = true;
    exitText = s.signal ? `signal ${s.signal}` : `exit code ${s.code}`;
    return s;
  });
  let stopping: Promise<void> | undefined;
  const proc: Proc = {
    name: options.name,
    pid: child.pid,
    port,
    url: `http://127.0.0.1:${port}`,
    logPath,
    exited: () => exitedFlag,
    exitStatus: () => exitText,
    stop() {
      stopping ??= (async () => {
        if (!exitedFlag) {
          try {
            child.kill(options.stopSignal ?? "SIGTERM");
          } catch { /* exited meanwhile */ }
          let timer: ReturnType<typeof setTimeout> | undefined;
          const timedOut = await Promise.race([
            status.then(() => false),
            new Promise<boolean>((r) => (timer = setTimeout(() => r(true), STOP_TIMEOUT_MS))),
          ]);
          clearTimeout(timer);
          if (timedOut) {
            try {
              child.kill("SIGKILL");
            } catch { /* exited meanwhile */ }
          }
        }
        await status;
        live.delete(proc);
      })();
      return stopping;
    },
  };
  live.add(proc);
  return proc;
}

/** The last lines of a process's log, access-log lines left out, and how it ended. */
export async function tailLog(proc: Proc, lines = 15): Promise<string> {
  let text = "(no log)";
  try {
    text = (await Deno.readTextFile(proc.logPath)).trimEnd().split("\n")
      .filter((l) => !l.includes('"request completed"')).slice(-lines).join("\n");
  } catch { /* keep the placeholder */ }
  const ended = proc.exitStatus();
  return `${text}\n(${proc.name}, pid ${proc.pid}: ${
    ended ?? "still running"
  }; log ${proc.logPath})`;
}

/**
 * Polls `GET <path>` until 200; returns ms from `since` (performance.now()) to that answer. Gives
 * up after `timeoutMs` (90 s by default).
 */
export async function waitHealthy(
  proc: Proc,
  since = performance.now(),
  pollMs = 5,
  path = "/health",
  timeoutMs = START_TIMEOUT_MS,
): Promise<number> {
  const deadline = since + timeoutMs;
  for (;;) {
    if (proc.exited()) {
      throw new Error(`${proc.name} exited during start-up:\n${await tailLog(proc)}`);
    }
    try {
      const res = await fetch(`${proc.url}${path}`);
      await res.body?.cancel();
      if (res.status === 200) return performance.now() - since;
    } catch { /* not listening yet */ }
    if (performance.now() > deadline) {
      throw new Error(
        `${proc.name}: ${path} not 200 after ${timeoutMs} ms:\n${await tailLog(proc)}`,
      );
    }
    await sleep(pollMs);
  }
}

/** Spawns and waits for health; stops the process if it never gets there. */
export async function startDeno(options: SpawnOptions): Promise<Proc> {
  const proc = spawnDeno(options);
  try {
    await waitHealthy(proc, performance.now(), 25);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return proc;
}

/** VmRSS of the process in MB (from /proc/<pid>/status). */
export async function rssMb(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const match = status.match(/^VmRSS:\s+(\d+)\s+kB/m);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) / 1024;
}

/** The pid and every descendant of it, parents first (from /proc/<pid>/task/<tid>/children). */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    let tids: string[];
    try {
      tids = [...Deno.readDirSync(`/proc/${p}/task`)].map((e) => e.name);
    } catch {
      continue; // gone meanwhile
    }
    out.push(p);
    for (const tid of tids) {
      try {
        const kids = Deno.readTextFileSync(`/proc/${p}/task/${tid}/children`).trim();
        if (kids) queue.push(...kids.split(/\s+/).map(Number));
      } catch { /* thread gone */ }
    }
  }
  return out;
}

/** Summed VmRSS (MB) of a process and its descendants, and how many processes that was. */
export async function treeRssMb(pid: number): Promise<{ mb: number; pids: number[] }> {
  const pids = processTree(pid);
  let mb = 0;
  for (const p of pids) mb += await rssMb(p).catch(() => 0);
  return { mb, pids };
}

let clockTicks: number | undefined;

/** CLK_TCK (`getconf CLK_TCK`; 100 on Linux almost everywhere): the unit of /proc/<pid>/stat. */
export async function clkTck(): Promise<number> {
  if (clockTicks === undefined) {
    const { stdout } = await run("getconf", ["CLK_TCK"]);
    const n = Number(stdout.trim());
    if (!Number.isInteger(n) || n <= 0) throw new Error(`getconf CLK_TCK printed ${stdout}`);
    clockTicks = n;
  }
  return clockTicks;
}

/**
 * utime and stime (clock ticks) of one process, from /proc/<pid>/stat: fields 14 and 15, counted
 * after the `(comm)` field, which may itself contain spaces and parentheses.
 */
export function cpuTimes(pid: number): { user: number; system: number } {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields[0] is field 3
  const user = Number(fields[11]);
  const system = Number(fields[12]);
  if (!Number.isFinite(user) || !Number.isFinite(system)) {
    throw new Error(`unreadable /proc/${pid}/stat: ${stat}`);
  }
  return { user, system };
}

/** Socket inodes listening on `port` (IPv4 and IPv6), from /proc/net/tcp{,6}. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = Deno.readTextFileSync(file);
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ADDR:PORT; st 0A is LISTEN; the inode is the tenth column.
      if (f[1]?.endsWith(`:${hexPort}`) && f[3] === "0A" && f[9]) inodes.add(f[9]);
    }
  }
  return inodes;
}

/** Whether `pid` has one of the socket `inodes` among its open files. */
function holdsSocket(pid: number, inodes: Set<string>): boolean {
  try {
    for (const fd of Deno.readDirSync(`/proc/${pid}/fd`)) {
      try {
        const m = Deno.readLinkSync(`/proc/${pid}/fd/${fd.name}`).match(/^socket:\[(\d+)\]$/);
        if (m && inodes.has(m[1]!)) return true;
      } catch { /* fd closed meanwhile */ }
    }
  } catch { /* process gone, or not ours to read */ }
  return false;
}

/**
 * The processes of `proc`'s tree that hold its listening socket (the ones that serve), and the
 * whole tree. Throws when none of them does: a figure measured on another pid would mean nothing.
 */
export function servingPids(proc: Proc): { serving: number[]; tree: number[] } {
  const inodes = listeningInodes(proc.port);
  const tree = processTree(proc.pid);
  const serving = tree.filter((pid) => holdsSocket(pid, inodes));
  if (serving.length === 0) {
    throw new Error(
      `${proc.name}: no process of its tree (${tree.join(", ")}) listens on port ${proc.port}`,
    );
  }
  return { serving, tree };
}

/**
 * The local process listening on `port` (a store the environment started, such as the test rig's
 * MongoDB-wire server), as a Proc whose CPU time can be read beside a target's; null when no
 * process of this machine listens there (a remote store). Never registered: the bench does not
 * own it, and its stop() leaves it running.
 */
export function localListener(name: string, port: number): Proc | null {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return null;
  const pid = [...Deno.readDirSync("/proc")].map((e) => Number(e.name)).find((pid) =>
    Number.isInteger(pid) && holdsSocket(pid, inodes)
  );
  if (pid === undefined) return null;
  const exited = () => {
    try {
      Deno.statSync(`/proc/${pid}/stat`);
      return false;
    } catch {
      return true;
    }
  };
  return {
    name,
    pid,
    port,
    url: `tcp://127.0.0.1:${port}`,
    logPath: "",
    exited,
    exitStatus: () => exited() ? "gone" : undefined,
    stop: () => Promise.resolve(),
  };
}

/**
 * Ends every process still registered and removes the temporary directories, or keeps them (the
 * service logs are there) and returns their paths when `keepDirs` is set, after a failure.
 */
export async function stopAll(keepDirs = false): Promise<string[]> {
  for (const child of helpers) {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }
  await Promise.allSettled([...live].map((p) => p.stop()));
  const dirs = [...tempDirs];
  tempDirs.clear();
  if (keepDirs) return dirs;
  for (const dir of dirs) await Deno.remove(dir, { recursive: true }).catch(() => {});
  return [];
}

export function liveCount(): number {
  return live.size;
}

/** Runs a command to completion; throws with its output when it fails. */
export async function run(cmd: string, args: string[], env?: Record<string, string>) {
  const out = await new Deno.Command(cmd, { args, env, stdin: "null" }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${out.code}):\n${stderr || stdout}`);
  }
  return { stdout, stderr };
}

/** Statistics, number formatting and the results table (stdout and bench/RESULTS.md). */

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const fmt = {
  rps: (n: number) => `${Math.round(n).toLocaleString("en-US")} req/s`,
  ms: (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms`,
  mb: (n: number) => `${n.toFixed(1)} MB`,
  us: (
    n: number,
  ) => (Number.isFinite(n) ? `${n < 100 ? n.toFixed(1) : n.toFixed(0)} µs/req` : "n/a"),
  ratio: (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "n/a"),
};

export interface Row {
  figure: string;
  what: string;
  stores: string;
  service: string;
  ceiling: string;
  ratio: string;
  target: string;
  /** "yes", "**NO**", or "—" for figures without a target; `info` marks report-only rows. */
  met: string;
}

/** Met or not: `ok` decides; rows reported for information get their verdict in parentheses. */
export function verdict(ok: boolean | null, info = false): string {
  if (ok === null) return "—";
  const text = ok ? "yes" : info ? "no" : "**NO**";
  return info ? `(${text}, info)` : text;
}

export function table(rows: Row[]): string {
  const header = [
    "#",
    "figure",
    "stores",
    "service",
    "ceiling / reference",
    "ratio",
    "target",
    "met",
  ];
  const lines = [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) =>
      `| ${
        [r.figure, r.what, r.stores, r.service, r.ceiling, r.ratio, r.target, r.met].join(" | ")
      } |`
    ),
  ];
  return lines.join("\n");
}

export async function machineInfo(): Promise<Record<string, string>> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const model = cpuinfo.match(/^model name\s*:\s*(.*)$/m)?.[1]?.trim() ?? "unknown";
  const memKb = Number(meminfo.match(/^MemTotal:\s+(\d+)/m)?.[1] ?? NaN);
  let nproc = String(navigator.hardwareConcurrency);
  try {
    const out = await new Deno.Command("nproc", { stdout: "piped", stderr: "null" }).output();
    if (out.success) nproc = new TextDecoder().decode(out.stdout).trim();
  } catch { /* keep hardwareConcurrency */ }
  let host = "unknown";
  try {
    host = Deno.hostname();
  } catch { /* keep unknown */ }
  return {
    host,
    nproc,
    cpu: model,
    memory: `${(memKb / 1024 / 1024).toFixed(1)} GiB`,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
  };
}

/**
 * `commit <short hash>`, plus `dirty` and how many files differ from it (tracked and untracked)
 * when the tree has uncommitted changes: others may be editing the services meanwhile.
 */
export async function codeVersion(repo: string): Promise<string> {
  const git = async (...args: string[]) => {
    const out = await new Deno.Command("git", {
      args: ["-C", repo, ...args],
      stdout: "piped",
      stderr: "null",
    })
      .output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : "";
  };
  try {
    const head = await git("rev-parse", "--short", "HEAD");
    const changed = (await git("status", "--porcelain")).split("\n").filter(Boolean).length;
    return head
      ? `commit ${head}${
        changed ? ` dirty (${changed} uncommitted file(s), untracked included)` : ""
      }`
      : "unknown";
  } catch {
    return "unknown";
  }
}

export async function loadAverage(): Promise<string> {
  const text = await Deno.readTextFile("/proc/loadavg").catch(() => "");
  return text.split(" ").slice(0, 3).join(" ") || "unknown";
}

/**
 * Reads an lcov report and fails when line coverage of any named directory is under the bar.
 * Usage: deno run -A scripts/check_coverage.ts coverage.lcov 80 kernel runtime http products inventory
 */
const [file, minimum, ...dirs] = Deno.args;
if (!file || !minimum || dirs.length === 0) {
  console.error("usage: check_coverage.ts <lcov file> <min %> <dir>...");
  Deno.exit(2);
}
const root = Deno.cwd() + "/";
const totals = new Map(dirs.map((d) => [d, { found: 0, hit: 0 }]));
let current: { found: number; hit: number } | undefined;
for (const line of (await Deno.readTextFile(file)).split("\n")) {
  if (line.startsWith("SF:")) {
    const path = line.slice(3).replace(root, "");
    const dir = dirs.find((d) => path.startsWith(d + "/") && !path.endsWith("_test.ts"));
    current = dir ? totals.get(dir) : undefined;
  } else if (current && line.startsWith("LF:")) current.found += Number(line.slice(3));
  else if (current && line.startsWith("LH:")) current.hit += Number(line.slice(3));
}
let failed = false;
for (const [dir, { found, hit }] of totals) {
  const pct = found === 0 ? 0 : (hit / found) * 100;
  const ok = pct >= Number(minimum);
  failed ||= !ok;
  console.log(
    `coverage ${dir}/: ${pct.toFixed(1)}% of ${found} lines ${ok ? "ok" : `< ${minimum}%`}`,
  );
}
if (failed) Deno.exit(1);

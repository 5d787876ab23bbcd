/** The answer run.ts captured from the service's cached read: what the P1 ceilings send back. */
export interface Captured {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Reads BENCH_RESPONSE_FILE (JSON: { status, headers, body }). */
export async function readCaptured(): Promise<Captured> {
  return JSON.parse(await Deno.readTextFile(Deno.env.get("BENCH_RESPONSE_FILE")!));
}

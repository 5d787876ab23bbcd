/**
 * Resolves once `done()` holds, checking every `everyMs`; throws after `withinMs`. Tests
 * whose work runs on timers or sockets wait with it for what they need, not for a guess at how
 * long that takes: CI runs tests in parallel on two cores, and a fixed 30 ms wait there can
 * outlast its margin.
 */
export async function until(
  done: () => boolean,
  what: string,
  withinMs = 10_000,
  everyMs = 2,
): Promise<void> {
  const end = performance.now() + withinMs;
  while (!done()) {
    if (performance.now() > end) throw new Error(`still waiting for ${what} after ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

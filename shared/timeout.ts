/** Rejects with TimeoutError when `promise` has not settled within `ms`; clears its timer either way. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what = "operation"): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DOMException(`${what} timed out after ${ms} ms`, "TimeoutError")),
      ms,
    );
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

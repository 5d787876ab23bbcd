/**
 * Outbound HTTP between our services (inventory → products): a per-attempt timeout, bounded
 * retries with full-jitter backoff and one total time budget. Framework-free on purpose; callers
 * pass their own headers (`X-API-Key`, `X-Request-ID`) in `init`.
 */
import type { EventLog } from "@stockroom/kernel";

/** What one attempt did; a hook for metrics. */
export interface AttemptInfo {
  attempt: number;
  /** Origin and path only: queries may carry secrets. */
  url: string;
  status?: number;
  error?: string;
  durationMs: number;
}

export interface RetryOptions {
  /**
   * Limit for one attempt, capped by what is left of `totalTimeoutMs`. It also bounds reading the
   * returned body, so a stalled upstream cannot hold the caller past it.
   */
  attemptTimeoutMs?: number;
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Budget for all attempts and the waits between them. */
  totalTimeoutMs?: number;
  log?: EventLog;
  /** Caller abort: stops at once, rethrowing the signal's reason; never retried. */
  signal?: AbortSignal;
  /** Source of jitter in [0, 1); tests pin it. */
  random?: () => number;
  onAttempt?: (info: AttemptInfo) => void;
}

export const RETRY_DEFAULTS = {
  attemptTimeoutMs: 2000,
  maxAttempts: 4,
  baseDelayMs: 100,
  maxDelayMs: 1000,
  totalTimeoutMs: 5000,
} as const;

export interface UpstreamUnavailableErrorOptions {
  attempts: number;
  lastStatus?: number;
  cause?: unknown;
}

/** Every attempt failed in a retryable way, or the budget ran out first. */
export class UpstreamUnavailableError extends Error {
  readonly attempts: number;
  readonly lastStatus?: number;

  constructor(message: string, options: UpstreamUnavailableErrorOptions) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.attempts = options.attempts;
    this.lastStatus = options.lastStatus;
  }
}

// Only answers that say "try again later"; any other status is the upstream's final word.
const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);
const RETRY_AFTER_STATUSES = new Set([429, 503]);

/**
 * `fetch` with retries on network errors, attempt timeouts and 429/502/503/504. Any other response
 * is returned as is after one attempt. The request body must be replayable (string or bytes), and
 * only idempotent requests should be sent with `maxAttempts` above 1.
 *
 * @throws {UpstreamUnavailableError} when attempts or the time budget run out.
 * @throws the `signal`'s reason when the caller aborts.
 */
export async function fetchWithRetry(
  url: string | URL,
  init: RequestInit = {},
  options: RetryOptions = {},
): Promise<Response> {
  const attemptTimeoutMs = options.attemptTimeoutMs ?? RETRY_DEFAULTS.attemptTimeoutMs;
  const maxAttempts = options.maxAttempts ?? RETRY_DEFAULTS.maxAttempts;
  const baseDelayMs = options.baseDelayMs ?? RETRY_DEFAULTS.baseDelayMs;
  const maxDelayMs = options.maxDelayMs ?? RETRY_DEFAULTS.maxDelayMs;
  const totalTimeoutMs = options.totalTimeoutMs ?? RETRY_DEFAULTS.totalTimeoutMs;
  const random = options.random ?? Math.random;

  // Parsing up front turns a bad URL into one TypeError instead of retried "network errors".
  const target = new URL(url);
  const logUrl = target.origin + target.pathname;
  const deadline = Date.now() + totalTimeoutMs;
  const callerSignals = [options.signal, init.signal].filter((s): s is AbortSignal => s != null);

  let attempts = 0;
  let lastStatus: number | undefined;
  let lastError: unknown;
  let timedOut = false;

  while (attempts < maxAttempts) {
    _throwIfAborted(callerSignals);
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      timedOut = true;
      break;
    }
    attempts++;
    const attemptSignal = AbortSignal.timeout(Math.min(attemptTimeoutMs, remaining));
    const started = Date.now();
    let response: Response | undefined;
    let errorText: string | undefined;
    try {
      response = await fetch(target, {
        ...init,
        signal: AbortSignal.any([...callerSignals, attemptSignal]),
      });
      lastStatus = response.status;
      lastError = undefined;
      timedOut = false;
    } catch (error) {
      _throwIfAborted(callerSignals);
      lastStatus = undefined;
      lastError = error;
      timedOut = attemptSignal.aborted;
      // Deno's network errors quote the full URL, query included.
      errorText = timedOut ? "timeout" : String((error as Error)?.message ?? error)
        .replaceAll(target.href, logUrl);
    }
    options.onAttempt?.({
      attempt: attempts,
      url: logUrl,
      status: response?.status,
      error: errorText,
      durationMs: Date.now() - started,
    });
    if (response && !RETRYABLE_STATUSES.has(response.status)) return response;

    const retryAfterMs = response && RETRY_AFTER_STATUSES.has(response.status)
      ? _parseRetryAfter(response.headers.get("retry-after"))
      : undefined;
    // A discarded body left unread pins the connection (and trips Deno's leak sanitizer).
    await response?.body?.cancel();
    if (attempts >= maxAttempts) break;

    const delayMs = retryAfterMs ??
      random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempts - 1));
    if (delayMs >= deadline - Date.now()) {
      // No time would be left to try again; a Retry-After past the budget is the server's answer.
      timedOut ||= retryAfterMs === undefined;
      break;
    }
    options.log?.warn({
      attempt: attempts,
      url: logUrl,
      ...(response ? { status: response.status } : { error: errorText }),
      delay_ms: Math.round(delayMs),
    }, "upstream.retry");
    await _sleep(delayMs, callerSignals);
  }

  const why = lastStatus !== undefined ? `status ${lastStatus}` : timedOut ? "timeout" : "error";
  throw new UpstreamUnavailableError(
    `Upstream unavailable: ${logUrl} after ${attempts} attempt(s), last ${why}`,
    { attempts, lastStatus, cause: lastError },
  );
}

/** Retry-After as delay-seconds or an HTTP date, in milliseconds. */
function _parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function _throwIfAborted(signals: AbortSignal[]): void {
  for (const signal of signals) signal.throwIfAborted();
}

function _sleep(ms: number, signals: AbortSignal[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const signal = AbortSignal.any(signals);
    if (signal.aborted) return reject(signal.reason);
    function onAbort() {
      clearTimeout(timer);
      reject(signal.reason);
    }
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Where the core gets the time: domain and application code never read the system clock, so a test
 * can move time without sleeping (expiry, TTLs, leases).
 */
export interface Clock {
  now(): Date;
}

/** The system clock, for `main.ts` to hand to the core. */
export const systemClock: Clock = { now: () => new Date() };

/**
 * The reliability and security suite: real stores, services as processes. Not part of
 * `deno task test` (no file here ends in `_test`); run it with
 *
 *   eval "$(scripts/test-backends.sh)"; deno task test:reliability
 *
 * Every case is ignored when a backend variable is missing. Knobs for investigating (all
 * optional): RELIABILITY_SEED replays the hostile-input run; RELIABILITY_ONLY=word,… runs only the
 * fault steps whose names contain a word; RELIABILITY_DEBUG=1 prints every fault-case request;
 * RELIABILITY_FAULT_MS=refuse=…,blackhole=…,cut=… changes how long each fault lasts.
 */
import "./concurrency.ts"; // 1 and 2: purchases and one Idempotency-Key raced over two instances
import "./faults.ts"; // 3: each dependency refused, black-holed and cut under load
import "./hostile_input.ts"; // 4: property-based hostile input against every route
import "./auth.ts"; // 5: every route × every wrong key; the key never logged
import "./shutdown.ts"; // 6: SIGTERM with requests in flight
import "./flash_sale.ts"; // 7: a flash sale: burst past capacity, replay storm, SIGKILL mid-sale
import "./carts.ts"; // 8: carts: racing, SIGKILL mid-cart, expiry with no traffic, hostile bodies

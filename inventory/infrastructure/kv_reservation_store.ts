import {
  byCreation,
  dueAt,
  listed,
  type Reservation,
  type ReservationListQuery,
} from "../domain/reservation.ts";
import type { ReservationStore } from "../domain/ports.ts";

const RESERVATION = "reservation";
/** ["reservation_due", epoch ms, id]: what the sweeper reads, in the order it is due. */
const DUE = "reservation_due";

/**
 * Reservations in Deno KV: the record under ["reservation", id] (KV keeps its Dates), and an entry
 * under ["reservation_due", at, id] while the sweeper has work on it, written in the same commit.
 * A list reads every reservation and filters it (an embedded store's scale); the sweeper reads
 * only what is due.
 */
export function createKvReservationStore(kv: Deno.Kv): ReservationStore {
  function write(atomic: Deno.AtomicOperation, next: Reservation, before?: Reservation) {
    const was = before ? dueAt(before) : null;
    if (was !== null) atomic.delete([DUE, was.getTime(), before!.id]);
    const due = dueAt(next);
    if (due !== null) atomic.set([DUE, due.getTime(), next.id], true);
    return atomic.set([RESERVATION, next.id], next).commit();
  }

  return {
    async insert(reservation) {
      const atomic = kv.atomic().check({ key: [RESERVATION, reservation.id], versionstamp: null });
      return (await write(atomic, reservation)).ok;
    },

    async get(id) {
      return (await kv.get<Reservation>([RESERVATION, id])).value;
    },

    async replace(next, version) {
      const entry = await kv.get<Reservation>([RESERVATION, next.id]);
      if (entry.value === null || entry.value.version !== version) return false;
      return (await write(kv.atomic().check(entry), next, entry.value)).ok;
    },

    async list(query: ReservationListQuery) {
      const all: Reservation[] = [];
      for await (const entry of kv.list<Reservation>({ prefix: [RESERVATION] })) {
        if (listed(entry.value, query)) all.push(entry.value);
      }
      all.sort(byCreation);
      return { items: all.slice(query.offset, query.offset + query.limit), total: all.length };
    },

    async due(now, limit) {
      const found: Reservation[] = [];
      const entries = kv.list<true>({ start: [DUE], end: [DUE, now.getTime() + 1] }, { limit });
      for await (const entry of entries) {
        const r = await this.get(entry.key[2] as string);
        if (r !== null) found.push(r);
      }
      return found;
    },
  };
}

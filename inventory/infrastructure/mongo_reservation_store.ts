import type { Filter, MongoClient } from "mongodb";
import type { ReservationStore } from "../domain/ports.ts";
import {
  dueAt,
  type Reservation,
  type ReservationListQuery,
  type StoredStatus,
  storedStatusesOf,
} from "../domain/reservation.ts";
import { MAX_TIME_MS } from "./mongo_failures.ts";
import { isDuplicateKey } from "./mongo_inserts.ts";

const LIMIT = { maxTimeMS: MAX_TIME_MS } as const;

interface ReservationDocument {
  _id: string;
  status: StoredStatus;
  lines: { product_id: string; quantity: number }[];
  reference: string | null;
  created_at: Date;
  expires_at: Date;
  updated_at: Date;
  version: number;
  lease_until: Date | null;
  /** When the sweeper has work on it (see dueAt); null once it ended. */
  due_at: Date | null;
  attempt: number;
  request_id: string;
  op: { key: string; fingerprint: string } | null;
}

function toDocument(r: Reservation): ReservationDocument {
  return {
    _id: r.id,
    status: r.status,
    lines: r.lines.map((l) => ({ product_id: l.productId, quantity: l.quantity })),
    reference: r.reference,
    created_at: r.createdAt,
    expires_at: r.expiresAt,
    updated_at: r.updatedAt,
    version: r.version,
    lease_until: r.leaseUntil,
    due_at: dueAt(r),
    attempt: r.attempt,
    request_id: r.requestId,
    op: r.op,
  };
}

function toReservation(d: ReservationDocument): Reservation {
  return {
    id: d._id,
    status: d.status,
    lines: d.lines.map((l) => ({ productId: l.product_id, quantity: l.quantity })),
    reference: d.reference,
    createdAt: d.created_at,
    expiresAt: d.expires_at,
    updatedAt: d.updated_at,
    version: d.version,
    leaseUntil: d.lease_until,
    attempt: d.attempt,
    requestId: d.request_id,
    op: d.op,
  };
}

/** The list query restated as a filter (the domain's `listed`). */
function filterOf(query: ReservationListQuery): Filter<ReservationDocument> {
  const filter: Filter<ReservationDocument> = {};
  if (query.productId !== undefined) filter["lines.product_id"] = query.productId;
  switch (query.status) {
    case undefined:
      filter.status = { $nin: ["pending", "failed"] };
      break;
    case "held":
      filter.status = "held";
      filter.expires_at = { $gt: query.now };
      break;
    case "expired":
      filter.$or = [
        { status: { $in: ["expiring", "expired"] } },
        { status: "held", expires_at: { $lte: query.now } },
      ];
      break;
    default:
      filter.status = { $in: storedStatusesOf(query.status) };
  }
  return filter;
}

/**
 * Reservations in the `reservations` collection, one document each; every change replaces the
 * document only at the version read (`replaceOne` on `_id` and `version`, atomic per document).
 */
export async function createMongoReservationStore(
  client: MongoClient,
  dbName: string,
): Promise<ReservationStore> {
  const reservations = client.db(dbName).collection<ReservationDocument>("reservations");
  // One call per index: FerretDB 1.24 drops the connection on a multi-index createIndexes.
  await reservations.createIndex({ due_at: 1 }, { name: "due_at" });
  await reservations.createIndex({ created_at: 1, _id: 1 }, { name: "created_at_id" });
  await reservations.createIndex({ "lines.product_id": 1 }, { name: "lines_product_id" });

  return {
    async insert(reservation) {
      try {
        await reservations.insertOne(toDocument(reservation), LIMIT);
        return true;
      } catch (error) {
        if (isDuplicateKey(error)) return false;
        throw error;
      }
    },

    async get(id) {
      const doc = await reservations.findOne({ _id: id }, LIMIT);
      return doc === null ? null : toReservation(doc);
    },

    async replace(next, version) {
      const result = await reservations.replaceOne(
        { _id: next.id, version },
        toDocument(next),
        LIMIT,
      );
      return result.matchedCount === 1;
    },

    async list(query) {
      const filter = filterOf(query);
      const [docs, total] = await Promise.all([
        reservations.find(filter, LIMIT).sort({ created_at: 1, _id: 1 }).skip(query.offset)
          .limit(query.limit).toArray(),
        reservations.countDocuments(filter, LIMIT),
      ]);
      return { items: docs.map(toReservation), total };
    },

    async due(now, limit) {
      const docs = await reservations.find({ due_at: { $ne: null, $lte: now } }, LIMIT)
        .sort({ due_at: 1 }).limit(limit).toArray();
      return docs.map(toReservation);
    },
  };
}

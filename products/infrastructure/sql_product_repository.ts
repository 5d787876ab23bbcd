import type { ProductRepository } from "../domain/ports.ts";
import {
  type ExpectedVersions,
  type NewProduct,
  type Product,
  type ProductChanges,
  type ProductListQuery,
  type ProductSortField,
  VersionMismatch,
} from "../domain/product.ts";
import type { SqlClient } from "./sql_client.ts";

// Formatting in SQL makes both drivers return identical strings: the NUMERIC exactly as stored
// and timestamps as ISO 8601 UTC (and the BIGINT version, which postgres.js reads as a string).
const COLUMNS = `id, name, description, price::text AS price, version::text AS version,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at,
  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS updated_at`;

const SORT_COLUMNS: Record<ProductSortField, string> = {
  name: "name",
  price: "price",
  created_at: "created_at",
  updated_at: "updated_at",
};

interface ProductRow {
  id: string;
  name: string;
  description: string;
  price: string;
  created_at: string;
  updated_at: string;
  version: string;
}

function toProduct(row: ProductRow): Product {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    price: Number(row.price),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: Number(row.version),
  };
}

/** ` AND version = ANY($n)` for a conditional change (its parameter pushed), else nothing. */
function versionCondition(params: unknown[], expected: ExpectedVersions | undefined): string {
  if (expected === undefined) return "";
  params.push(expected.map(String));
  return ` AND version = ANY($${params.length}::bigint[])`;
}

function likePattern(text: string): string {
  return "%" + text.replace(/[\\%_]/g, (ch) => "\\" + ch) + "%";
}

/** Products in PostgreSQL (or PGlite): parameterized statements only. */
export class SqlProductRepository implements ProductRepository {
  constructor(private readonly sql: SqlClient) {}

  async create(product: NewProduct & { id: string }, at: string) {
    const rows = await this.sql.query<ProductRow>(
      `INSERT INTO products (id, name, description, price, created_at, updated_at)
       VALUES ($1, $2, $3, $4::numeric, $5::timestamptz, $5::timestamptz)
       ON CONFLICT (id) DO NOTHING
       RETURNING ${COLUMNS}`,
      [product.id, product.name, product.description, product.price.toFixed(2), at],
    );
    return rows[0] ? toProduct(rows[0]) : null;
  }

  async read(id: string) {
    const rows = await this.sql.query<ProductRow>(
      `SELECT ${COLUMNS} FROM products WHERE id = $1`,
      [id],
    );
    return rows[0] ? { product: toProduct(rows[0]), cached: false } : null;
  }

  async list(query: ProductListQuery) {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.nameContains !== undefined) {
      params.push(likePattern(query.nameContains));
      where.push(`name ILIKE $${params.length} ESCAPE '\\'`);
    }
    if (query.minPrice !== undefined) {
      params.push(query.minPrice.toFixed(2));
      where.push(`price >= $${params.length}::numeric`);
    }
    if (query.maxPrice !== undefined) {
      params.push(query.maxPrice.toFixed(2));
      where.push(`price <= $${params.length}::numeric`);
    }
    const whereSql = where.length ? `WHERE ${where.join(" AND ")}` : "";
    const sort = query.sort.length ? query.sort : [{ field: "created_at", descending: false }];
    const order = sort
      .map((s) => `${SORT_COLUMNS[s.field as ProductSortField]} ${s.descending ? "DESC" : "ASC"}`)
      .concat("id ASC")
      .join(", ");
    const countParams = [...params];
    params.push(query.limit, query.offset);
    const [rows, counted] = await Promise.all([
      this.sql.query<ProductRow>(
        `SELECT ${COLUMNS} FROM products ${whereSql} ORDER BY ${order}
         LIMIT $${params.length - 1} OFFSET $${params.length}`,
        params,
      ),
      this.sql.query<{ total: number }>(
        `SELECT count(*)::int AS total FROM products ${whereSql}`,
        countParams,
      ),
    ]);
    return { items: rows.map(toProduct), total: counted[0]?.total ?? 0 };
  }

  async update(id: string, changes: ProductChanges, at: string, expected?: ExpectedVersions) {
    const sets: string[] = [];
    const params: unknown[] = [id, at];
    if (changes.name !== undefined) {
      params.push(changes.name);
      sets.push(`name = $${params.length}`);
    }
    if (changes.description !== undefined) {
      params.push(changes.description);
      sets.push(`description = $${params.length}`);
    }
    if (changes.price !== undefined) {
      params.push(changes.price.toFixed(2));
      sets.push(`price = $${params.length}::numeric`);
    }
    if (sets.length === 0) return this.#unchanged(id, expected);
    sets.push("updated_at = $2::timestamptz", "version = version + 1");
    // The version check and the write are one statement: of racing changes that expect the same
    // version, one matches and the others, once it commits, find the next version and match none.
    const rows = await this.sql.query<ProductRow>(
      `UPDATE products SET ${sets.join(", ")}
       WHERE id = $1${versionCondition(params, expected)} RETURNING ${COLUMNS}`,
      params,
    );
    if (rows[0]) return toProduct(rows[0]);
    return expected === undefined ? null : await this.#mismatch(id);
  }

  async delete(id: string, expected?: ExpectedVersions) {
    const params: unknown[] = [id];
    const rows = await this.sql.query<{ id: string }>(
      `DELETE FROM products WHERE id = $1${versionCondition(params, expected)} RETURNING id`,
      params,
    );
    if (rows.length > 0) return true;
    return expected === undefined ? false : (await this.#mismatch(id)) ?? false;
  }

  /** An empty change writes nothing: the product as stored, if it is at an expected version. */
  async #unchanged(id: string, expected?: ExpectedVersions) {
    const current = (await this.read(id))?.product;
    if (!current) return null;
    return expected === undefined || expected.includes(current.version)
      ? current
      : new VersionMismatch(current.version);
  }

  /** After a conditional change matched no row: a mismatch, or null when there is no product. */
  async #mismatch(id: string): Promise<VersionMismatch | null> {
    const rows = await this.sql.query<{ version: string }>(
      "SELECT version::text AS version FROM products WHERE id = $1",
      [id],
    );
    return rows[0] ? new VersionMismatch(Number(rows[0].version)) : null;
  }

  async ping() {
    await this.sql.query("SELECT 1");
  }

  close() {
    return this.sql.close();
  }
}

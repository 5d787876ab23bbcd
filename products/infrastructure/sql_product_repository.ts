import type { ProductRepository } from "../domain/ports.ts";
import type {
  NewProduct,
  Product,
  ProductChanges,
  ProductListQuery,
  ProductSortField,
} from "../domain/product.ts";
import type { SqlClient } from "./sql_client.ts";

// Formatting in SQL makes both drivers return identical strings: the NUMERIC exactly as stored
// and timestamps as ISO 8601 UTC.
const COLUMNS = `id, name, description, price::text AS price,
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
}

function toProduct(row: ProductRow): Product {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    price: Number(row.price),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
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

  async update(id: string, changes: ProductChanges, at: string) {
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
    const rows = await this.sql.query<ProductRow>(
      `UPDATE products SET ${sets.concat("updated_at = $2::timestamptz").join(", ")}
       WHERE id = $1 RETURNING ${COLUMNS}`,
      params,
    );
    return rows[0] ? toProduct(rows[0]) : null;
  }

  async delete(id: string) {
    const rows = await this.sql.query<{ id: string }>(
      "DELETE FROM products WHERE id = $1 RETURNING id",
      [id],
    );
    return rows.length > 0;
  }

  async ping() {
    await this.sql.query("SELECT 1");
  }

  close() {
    return this.sql.close();
  }
}

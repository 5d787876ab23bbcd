import { productRepositoryContract } from "../../tests/contracts/product_repository.ts";
import {
  DATABASE_URL,
  openPglite,
  openPostgres,
  type TestDatabase,
} from "../../tests/support/test_databases.ts";
import { SqlProductRepository } from "./sql_product_repository.ts";

function sqlSubject(open: () => Promise<TestDatabase>) {
  return async () => {
    const db = await open();
    return { repo: new SqlProductRepository(db.sql), reset: db.reset, close: db.close };
  };
}

productRepositoryContract("SQL on PGlite (embedded)", sqlSubject(openPglite));
productRepositoryContract("SQL on PostgreSQL (DATABASE_URL)", sqlSubject(openPostgres), {
  ignore: !DATABASE_URL,
});

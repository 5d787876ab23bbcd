import { productRepositoryContract } from "./product_repository_contract.ts";
import { DATABASE_URL, openPglite, openPostgres } from "./test_databases.ts";

productRepositoryContract("PGlite (embedded)", openPglite);
productRepositoryContract("PostgreSQL (DATABASE_URL)", openPostgres, { ignore: !DATABASE_URL });

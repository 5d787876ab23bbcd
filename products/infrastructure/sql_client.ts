/**
 * The little a SQL adapter needs from a driver, so one repository (one set of SQL) runs on
 * postgres.js in production and PGlite embedded.
 */
export interface SqlClient {
  /** One parameterized statement ($1, $2, …). */
  query<T>(text: string, params?: unknown[]): Promise<T[]>;
  /** A script of several statements, run as one implicit transaction. */
  script(text: string): Promise<void>;
  close(): Promise<void>;
}

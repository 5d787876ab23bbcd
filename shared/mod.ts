export * from "./domain_error.ts";

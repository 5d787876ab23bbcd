import { z } from "zod";
import { type CommonConfig, commonEnv, optionalUrl, parseEnv } from "@stockroom/runtime/config";

import { SERVICE } from "./service.ts";

const inventoryEnv = {
  ...commonEnv,
  MONGODB_URL: optionalUrl(/^mongodb(\+srv)?$/),
  MONGODB_DB: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, "must be a MongoDB database name")
    .default("inventory"),
  PRODUCTS_SERVICE_URL: z.url({ protocol: /^https?$/ }).default("http://127.0.0.1:8001"),
};

export interface InventoryConfig extends CommonConfig {
  /** MongoDB; Deno KV when absent. */
  mongodbUrl?: string;
  mongodbDb: string;
  /** Without a trailing slash. */
  productsServiceUrl: string;
}

/** The inventory service's configuration, from the environment. */
export function inventoryConfig(env: Record<string, string | undefined>): InventoryConfig {
  const { env: e, common } = parseEnv(inventoryEnv, env, SERVICE.defaultPort);
  return {
    ...common,
    mongodbUrl: e.MONGODB_URL,
    mongodbDb: e.MONGODB_DB,
    productsServiceUrl: e.PRODUCTS_SERVICE_URL.replace(/\/+$/, ""),
  };
}

/** Who this service is, for the boot shell and the configuration. Imports nothing: the shell loads it first. */
export const SERVICE = { name: "products", defaultPort: 8001 } as const;

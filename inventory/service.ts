/** Who this service is, for the boot shell and the configuration. Imports nothing: the shell loads it first. */
export const SERVICE = { name: "inventory", defaultPort: 8002 } as const;

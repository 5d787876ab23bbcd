import { createLogger, type Logger } from "@stockroom/runtime/logger";

/** A logger that keeps its lines, for tests that assert on logging. */
export function memoryLogger(
  service = "test",
): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const raw: string[] = [];
  const logger = createLogger(service, {
    level: "debug",
    destination: { write: (line: string) => void raw.push(line) },
  });
  return { logger, lines: () => raw.map((l) => JSON.parse(l)) };
}

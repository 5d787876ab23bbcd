/** The request-id rule, free of any framework so the boot shell can use it too. */
export const REQUEST_ID_HEADER = "X-Request-ID";
const MAX_REQUEST_ID_LENGTH = 200;
const PRINTABLE = /^[\x20-\x7e]+$/;

/** The client's id when it is 1–200 printable ASCII characters (trimmed), otherwise a new UUID. */
export function requestIdFrom(given: string | null | undefined): string {
  const id = given?.trim();
  return id && id.length <= MAX_REQUEST_ID_LENGTH && PRINTABLE.test(id) ? id : crypto.randomUUID();
}

import assert from "node:assert/strict";
import {
  MongoNetworkError,
  MongoNetworkTimeoutError,
  MongoServerError,
  MongoServerSelectionError,
} from "mongodb";
import { mongoFailure } from "./mongo_failures.ts";

Deno.test("mongoFailure() says nothing was applied when no server was reached or it aborted the operation", () => {
  const selection = new MongoServerSelectionError("no server", { servers: new Map() } as never);
  assert.equal(mongoFailure(selection), "refused");
  assert.equal(mongoFailure(new MongoServerError({ message: "time limit", code: 50 })), "refused");
});

Deno.test("mongoFailure() says the outcome is in doubt when the connection broke after sending", () => {
  assert.equal(mongoFailure(new MongoNetworkError("connection reset")), "in_doubt");
  assert.equal(mongoFailure(new MongoNetworkTimeoutError("socket timeout")), "in_doubt");
  const socket = Object.assign(new Error("This socket has been ended"), { code: "EPIPE" });
  assert.equal(mongoFailure(socket), "in_doubt");
  const ferretDeadline = new MongoServerError({
    message:
      "[msg_findandmodify.go:139 handler.(*Handler).MsgFindAndModify] context deadline exceeded",
    code: 1,
  });
  assert.equal(mongoFailure(ferretDeadline), "in_doubt");
});

Deno.test("mongoFailure() leaves the server's errors about the operation itself alone", () => {
  assert.equal(mongoFailure(new MongoServerError({ message: "bad query", code: 2 })), "other");
  assert.equal(mongoFailure(new TypeError("bug")), "other");
});

import assert from "node:assert/strict";
import { assertJsonApi } from "../tests/support/jsonapi.ts";
import { collectionDocument, pointerSegment, sparse } from "./jsonapi.ts";

Deno.test("collectionDocument() links every page and keeps other parameters", () => {
  const doc = collectionDocument([], "http://h/things?sort=-name&page[number]=2", {
    number: 2,
    size: 10,
    total: 35,
  });
  assertJsonApi(doc);
  const links = doc.links as Record<string, string | null>;
  const page = (n: number) => `http://h/things?sort=-name&page%5Bnumber%5D=${n}&page%5Bsize%5D=10`;
  assert.deepEqual(links, {
    self: page(2),
    first: page(1),
    prev: page(1),
    next: page(3),
    last: page(4),
  });
  assert.deepEqual(doc.meta, { total: 35 });
});

Deno.test("collectionDocument() has one page and no prev/next for an empty collection", () => {
  const doc = collectionDocument([], "http://h/t", { number: 1, size: 20, total: 0 });
  const links = doc.links as Record<string, string | null>;
  assert.equal(links.prev, null);
  assert.equal(links.next, null);
  assert.equal(links.last, links.first);
});

Deno.test("collectionDocument() points prev at the last page from past the end", () => {
  const doc = collectionDocument([], "http://h/t", { number: 9, size: 20, total: 25 });
  const links = doc.links as Record<string, string | null>;
  assert.match(links.prev!, /page%5Bnumber%5D=2/);
  assert.equal(links.next, null);
});

Deno.test("sparse() keeps only the requested attributes", () => {
  assert.deepEqual(sparse({ a: 1, b: 2 }, ["b", "c"]), { b: 2 });
  assert.deepEqual(sparse({ a: 1 }, []), {});
  assert.deepEqual(sparse({ a: 1 }, undefined), { a: 1 });
});

Deno.test("pointerSegment() escapes ~ and /", () => {
  assert.equal(pointerSegment("a/b~c"), "a~1b~0c");
  assert.equal(pointerSegment(3), "3");
});

import assert from "node:assert/strict";
import { canonicalFields, expectedVersions, productTag } from "./etag.ts";

Deno.test("productTag() is v<version>, with the sparse fieldset's fields as its variant", () => {
  assert.equal(productTag(1), '"v1"');
  assert.equal(productTag(42, canonicalFields(["price", "name", "price"])), '"v42-name.price"');
  assert.equal(productTag(42, canonicalFields([])), '"v42-none"');
  assert.equal(
    productTag(3, canonicalFields(["updated_at", "created_at", "price", "description", "name"])),
    '"v3-name.description.price.created_at.updated_at"',
  );
});

Deno.test("canonicalFields() keeps the document's order and drops repeats and strangers", () => {
  assert.deepEqual(canonicalFields(["updated_at", "name", "name", "secret"]), [
    "name",
    "updated_at",
  ]);
});

Deno.test("expectedVersions() names the versions of whole-representation tags only", () => {
  assert.equal(expectedVersions(undefined), undefined);
  assert.equal(expectedVersions({ any: true }), undefined);
  assert.deepEqual(
    expectedVersions({
      any: false,
      versions: ["v3", "v12", "v3-name", "3", "v0", "v01", "V4", "v" + "9".repeat(16), ""],
    }),
    [3, 12],
  );
  assert.deepEqual(expectedVersions({ any: false, versions: [] }), []);
});

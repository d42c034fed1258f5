/** An archive's index.json may only point at what dz verified: the image, its index, or a signature artifact it read. */
import assert from "node:assert/strict";
import { checkArchiveIndex, type IndexEntry } from "../../src/app/archive_index.ts";
import { isDropzoneError } from "../../src/errors.ts";
import { fakeDigest } from "../support/resolved_image.ts";

const IMAGE = fakeDigest("a");
const INDEX = fakeDigest("b");
const SIG = fakeDigest("c");
const OTHER = fakeDigest("d");
const SIDECAR = `sha256-${"a".repeat(64)}.sig`;
const known = { verified: new Set([IMAGE, INDEX]), consulted: new Set([SIG]) };

Deno.test("checkArchiveIndex() accepts the verified image under its tag and artifacts verification read", () => {
  for (
    const entries of [
      [],
      [{ digest: IMAGE, name: "1.0" }],
      [{ digest: INDEX, name: "1.0" }, { digest: SIG, name: SIDECAR }],
      [{ digest: SIG }],
    ] as IndexEntry[][]
  ) checkArchiveIndex(entries, known);
});

Deno.test("checkArchiveIndex() refuses (exit 3) a tag on anything unverified, and unread artifacts", () => {
  for (
    const [entry, message] of [
      [{ digest: OTHER, name: "1.0" }, /lists "1\.0" as sha256:d+.*not the verified image$/],
      // A signature artifact verification read is still not an image: under a tag it is refused.
      [{ digest: SIG, name: "latest" }, /lists "latest"/],
      [{ digest: OTHER, name: SIDECAR }, /or one of its signature artifacts/],
      [{ digest: OTHER }, /an entry sha256:d+/],
    ] as const
  ) {
    assert.throws(
      () => checkArchiveIndex([{ digest: IMAGE, name: "1.0" }, entry], known),
      (err) => isDropzoneError(err, "SIGNATURE_MISSING") && message.test(err.message),
      JSON.stringify(entry),
    );
  }
});

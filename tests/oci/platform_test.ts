import assert from "node:assert/strict";
import { formatPlatform, selectPlatform } from "../../src/oci/platform.ts";
import type { ImageIndex, Platform } from "../../src/oci/manifest.ts";
import { isDropzoneError } from "../../src/errors.ts";

function index(...platforms: (Platform | undefined)[]): ImageIndex {
  return {
    kind: "index",
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: platforms.map((platform, i) => ({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: `sha256:${String(i).repeat(64)}`,
      size: 1,
      ...(platform ? { platform } : {}),
    })),
  };
}

const ATTESTATION = { os: "unknown", architecture: "unknown" };

Deno.test("selectPlatform() picks by os, arch and variant", async (t) => {
  const idx = index(
    ATTESTATION,
    { os: "linux", architecture: "amd64" },
    { os: "linux", architecture: "arm64", variant: "v8" },
    { os: "linux", architecture: "arm", variant: "v6" },
    { os: "linux", architecture: "arm", variant: "v7" },
    { os: "darwin", architecture: "arm64" },
  );
  const cases: [string, { os: string; arch: string; variant?: string }, string][] = [
    ["amd64", { os: "linux", arch: "amd64" }, "1"],
    ["arm64 v8 matches empty host variant", { os: "linux", arch: "arm64" }, "2"],
    ["arm64 host v8", { os: "linux", arch: "arm64", variant: "v8" }, "2"],
    ["arm v7", { os: "linux", arch: "arm", variant: "v7" }, "4"],
    ["darwin", { os: "darwin", arch: "arm64" }, "5"],
  ];
  for (const [name, host, digit] of cases) {
    await t.step(name, () => assert.equal(selectPlatform(idx, host).digest, `sha256:${digit.repeat(64)}`));
  }
});

Deno.test("selectPlatform() prefers an entry without variant and skips attestations", () => {
  const idx = index(ATTESTATION, { os: "linux", architecture: "amd64", variant: "v3" }, {
    os: "linux",
    architecture: "amd64",
  });
  assert.equal(selectPlatform(idx, { os: "linux", arch: "amd64" }).digest, `sha256:${"2".repeat(64)}`);
});

Deno.test("selectPlatform() throws NO_MATCHING_PLATFORM listing what the image offers", () => {
  const idx = index(ATTESTATION, undefined, { os: "linux", architecture: "amd64" }, {
    os: "linux",
    architecture: "arm64",
    variant: "v8",
  });
  assert.throws(
    () => selectPlatform(idx, { os: "darwin", arch: "arm64" }),
    (err) =>
      isDropzoneError(err, "NO_MATCHING_PLATFORM") && err.message.includes("darwin/arm64") &&
      err.message.includes("linux/amd64, linux/arm64/v8") && !err.message.includes("unknown"),
  );
  assert.throws(() => selectPlatform(idx, { os: "linux", arch: "arm", variant: "v7" }), /linux\/arm\/v7/);
});

Deno.test("formatPlatform() writes os/arch[/variant] for index platforms and hosts", async (t) => {
  const cases: [Parameters<typeof formatPlatform>[0], string][] = [
    [{ os: "linux", architecture: "amd64" }, "linux/amd64"],
    [{ os: "linux", architecture: "arm", variant: "v7" }, "linux/arm/v7"],
    [{ os: "linux", architecture: "arm64", variant: "" }, "linux/arm64"],
    [{ os: "darwin", arch: "arm64" }, "darwin/arm64"],
    [{ os: "linux", arch: "arm", variant: "v6" }, "linux/arm/v6"],
  ];
  for (const [platform, expected] of cases) {
    await t.step(expected, () => assert.equal(formatPlatform(platform), expected));
  }
});

Deno.test("selectPlatform() with a host variant needs that variant; case and arm64 v8 are normalised", () => {
  const idx = index({ os: "linux", architecture: "arm", variant: "V7" }, {
    os: "linux",
    architecture: "arm64",
  });
  assert.equal(
    selectPlatform(idx, { os: "linux", arch: "arm", variant: "v7" }).digest,
    `sha256:${"0".repeat(64)}`,
  );
  assert.equal(
    selectPlatform(idx, { os: "linux", arch: "arm64", variant: "V8" }).digest,
    `sha256:${"1".repeat(64)}`,
  );
  assert.throws(
    () => selectPlatform(idx, { os: "linux", arch: "arm", variant: "v6" }),
    /offers linux\/arm\/V7, linux\/arm64/,
  );
  assert.throws(() => selectPlatform(index(), { os: "linux", arch: "amd64" }), /offers no platforms/);
});

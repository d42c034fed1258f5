import assert from "node:assert/strict";
import {
  artifactFiles,
  chooseArtifactFile,
  isArtifactManifest,
  matchScore,
  platformTag,
  TITLE_ANNOTATION,
  titleProblem,
} from "../../src/oci/artifact.ts";
import { DropzoneError } from "../../src/errors.ts";
import type { Descriptor } from "../../src/oci/manifest.ts";
import { MEDIA_TYPES } from "../../src/oci/media_types.ts";

const LINUX_AMD64 = { os: "linux", arch: "amd64" };
const DARWIN_ARM64 = { os: "darwin", arch: "arm64" };
const D = "sha256:" + "a".repeat(64);

function layer(title: string | undefined): Descriptor {
  return {
    mediaType: "application/vnd.oci.image.layer.v1.tar",
    digest: D as Descriptor["digest"],
    size: 1,
    ...(title === undefined ? {} : { annotations: { [TITLE_ANNOTATION]: title } }),
  };
}

Deno.test("isArtifactManifest: artifactType, the empty config or the unknown config mark an artifact", () => {
  const config = (mediaType: string) => ({ mediaType, digest: D as Descriptor["digest"], size: 2 });
  assert.equal(
    isArtifactManifest({ artifactType: "application/x-tool", config: config(MEDIA_TYPES.OCI_CONFIG) }),
    true,
  );
  assert.equal(isArtifactManifest({ config: config(MEDIA_TYPES.OCI_EMPTY) }), true);
  assert.equal(isArtifactManifest({ config: config("application/vnd.unknown.config.v1+json") }), true);
  assert.equal(isArtifactManifest({ config: config(MEDIA_TYPES.OCI_CONFIG) }), false);
  assert.equal(isArtifactManifest({ config: config(MEDIA_TYPES.DOCKER_CONFIG) }), false);
});

Deno.test("titleProblem refuses empty, separators, '..' and control characters; plain names pass", () => {
  const bad: [string | undefined, RegExp][] = [
    [undefined, /no title/],
    ["", /no title/],
    ["../evil", /path separator|\.\./],
    ["..", /\.\./],
    [".", /\.\./],
    ["a/b", /path separator/],
    ["a\\b", /path separator/],
    ["x..y", /\.\./],
    ["tool\u001b]52;c;aGk=\u0007", /control/],
    ["tool\n", /control/],
    ["tool\u009b", /control/],
    ["x".repeat(256), /255 bytes/],
  ];
  for (const [title, why] of bad) assert.match(titleProblem(title) ?? "(accepted)", why, String(title));
  for (const ok of ["tool", "tool-linux-amd64", ".hidden", "tool.tar.gz", "ünïcode", "a b"]) {
    assert.equal(titleProblem(ok), undefined, ok);
  }
});

Deno.test("artifactFiles refuses a hostile title (UNSAFE_LAYER) and a duplicate title; detects archives", () => {
  assert.throws(
    () => artifactFiles({ layers: [layer("tool"), layer("../../.bashrc")] }, "x"),
    (e: unknown) =>
      e instanceof DropzoneError && e.code === "UNSAFE_LAYER" &&
      /layer 2 \("\.\.\/\.\.\/\.bashrc"\)/.test(e.message),
  );
  assert.throws(() => artifactFiles({ layers: [layer("a"), layer("a")] }, "x"), /two layers are titled "a"/);
  const files = artifactFiles(
    { layers: [layer("t.tar.gz"), layer("t.TGZ"), layer("t.tar"), layer("t")] },
    "x",
  );
  assert.deepEqual(files.map((f) => f.archive), ["tar+gzip", "tar+gzip", "tar", "none"]);
});

Deno.test("matchScore: the bare name, the name with host platform tokens, never another platform", () => {
  const rows: [string, string, typeof LINUX_AMD64, number][] = [
    ["tool", "tool", LINUX_AMD64, 1],
    ["tool.tar.gz", "tool", LINUX_AMD64, 1],
    ["tool-linux-amd64", "tool", LINUX_AMD64, 2],
    ["tool_linux_x86_64", "tool", LINUX_AMD64, 2],
    ["tool-x86_64-unknown-linux-musl.tar.gz", "tool", LINUX_AMD64, 2],
    ["tool-v1.2.3-linux-amd64.tgz", "tool", LINUX_AMD64, 2],
    ["tool-darwin-arm64", "tool", LINUX_AMD64, 0],
    ["tool-linux-arm64", "tool", LINUX_AMD64, 0],
    ["tool-darwin-arm64", "tool", DARWIN_ARM64, 2],
    ["tool-macos-aarch64", "tool", DARWIN_ARM64, 2],
    ["toolbox", "tool", LINUX_AMD64, 0],
    ["tool-extra", "tool", LINUX_AMD64, 0],
    ["README.md", "tool", LINUX_AMD64, 0],
  ];
  for (const [file, name, host, want] of rows) assert.equal(matchScore(file, name, host), want, file);
});

Deno.test("chooseArtifactFile: the single file, the host's build by name, --file exactly, else a clear error", () => {
  const files = (...titles: string[]) => artifactFiles({ layers: titles.map(layer) }, "ref");
  const pick = (titles: string[], options: { file?: string; host?: typeof LINUX_AMD64 } = {}) =>
    chooseArtifactFile(files(...titles), {
      packageName: "tool",
      host: options.host ?? LINUX_AMD64,
      what: "ref",
      ...(options.file ? { file: options.file } : {}),
    }).title;
  assert.equal(pick(["anything-at-all"]), "anything-at-all");
  assert.equal(pick(["tool-darwin-arm64", "tool-linux-amd64", "tool-linux-arm64"]), "tool-linux-amd64");
  assert.equal(pick(["tool-darwin-arm64", "tool-linux-amd64"], { host: DARWIN_ARM64 }), "tool-darwin-arm64");
  assert.equal(pick(["tool", "tool-linux-amd64", "README.md"]), "tool-linux-amd64");
  assert.equal(pick(["tool", "README.md"]), "tool");
  assert.equal(pick(["README.md", "LICENSE"], { file: "LICENSE" }), "LICENSE");
  assert.throws(
    () => pick(["README.md", "LICENSE"]),
    (e: unknown) =>
      e instanceof DropzoneError && e.code === "ENTRYPOINT" && /"README\.md", "LICENSE"/.test(e.message) &&
      /--file/.test(e.hint ?? ""),
  );
  assert.throws(() => pick(["tool-linux-amd64", "tool_linux_x86_64"]), /several files match/);
  assert.throws(
    () => pick(["a", "b"], { file: "c" }),
    (e: unknown) =>
      e instanceof DropzoneError && e.code === "INVALID_ARGUMENT" && /no file "c"/.test(e.message),
  );
});

Deno.test("platformTag follows the static-binary catalog convention TAG-<arch>-<os>", () => {
  assert.equal(platformTag("1.36", LINUX_AMD64), "1.36-x86_64-linux");
  assert.equal(platformTag("latest", DARWIN_ARM64), "latest-aarch64-darwin");
  assert.equal(platformTag("v1", { os: "windows", arch: "amd64" }), undefined);
  assert.equal(platformTag("v1", { os: "linux", arch: "riscv64" }), undefined);
  assert.equal(platformTag("x".repeat(120), LINUX_AMD64), undefined);
});

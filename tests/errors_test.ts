import assert from "node:assert/strict";
import {
  DropzoneError,
  type ErrorCode,
  EXIT,
  exitCodeFor,
  ioFailureHint,
  isDropzoneError,
} from "./../src/errors.ts";

Deno.test("DropzoneError.exitCode is 3 for trust codes only, 2 for usage codes, else 1", async (t) => {
  const cases: [ErrorCode, number][] = [
    ["SIGNATURE_MISSING", 3],
    ["SIGNATURE_INVALID", 3],
    ["POLICY_MISMATCH", 3],
    ["POLICY_MISSING", 3],
    ["DIGEST_MISMATCH", 3],
    ["TRUSTED_ROOT_INVALID", 3],
    ["SIGNER_CHANGED", 3],
    ["ATTESTATION_POLICY", 3],
    ["FILES_MODIFIED", 3],
    ["SOURCE_MISMATCH", 3],
    ["DOWNGRADE", 3],
    ["USAGE", 2],
    ["INVALID_REFERENCE", 2],
    ["INVALID_NAME", 2],
    ["INVALID_ARGUMENT", 2],
    ["REGISTRY_UNREACHABLE", 1],
    ["REGISTRY_AUTH", 1],
    ["RATE_LIMITED", 1],
    ["OFFLINE_MISS", 1],
    ["UNSAFE_LAYER", 1],
    ["LOCKED", 1],
    ["IO", 1],
  ];
  for (const [code, exit] of cases) {
    await t.step(code, () => {
      const err = new DropzoneError(code, "m");
      assert.equal(err.exitCode, exit);
      assert.equal(exitCodeFor(err), exit);
    });
  }
});

Deno.test("exitCodeFor() is 1 for anything that is not a DropzoneError", () => {
  for (
    const value of [new Error("x"), new TypeError("x"), "string", undefined, { code: "DIGEST_MISMATCH" }]
  ) {
    assert.equal(exitCodeFor(value), EXIT.FAILURE);
  }
});

Deno.test("DropzoneError keeps code, hint and cause, and leaves cause unset when none is given", () => {
  const cause = new Error("inner");
  const err = new DropzoneError("IO", "Cannot write", { hint: "Free space", cause });
  assert.equal(err.name, "DropzoneError");
  assert.equal(err.code, "IO");
  assert.equal(err.message, "Cannot write");
  assert.equal(err.hint, "Free space");
  assert.equal(err.cause, cause);
  const bare = new DropzoneError("IO", "x");
  assert.equal(bare.hint, undefined);
  assert.ok(!("cause" in bare));
  assert.ok(err instanceof Error);
});

Deno.test("isDropzoneError() checks the type and, when given, the code", () => {
  const err = new DropzoneError("LOCKED", "x");
  assert.equal(isDropzoneError(err), true);
  assert.equal(isDropzoneError(err, "LOCKED"), true);
  assert.equal(isDropzoneError(err, "IO"), false);
  assert.equal(isDropzoneError(Object.assign(new Error("x"), { code: "LOCKED" }), "LOCKED"), false);
  assert.equal(isDropzoneError(undefined), false);
});

Deno.test("ioFailureHint() names the fix for ordinary I/O failures and nothing else", async (t) => {
  const cases: [string, unknown, RegExp | undefined][] = [
    ["ENOSPC text", new Error("No space left on device (os error 28)"), /disk is full.*dz gc/],
    ["os error 28 only", new Error("write failed: os error 28"), /disk is full/],
    ["quota", new Error("Disk quota exceeded (os error 122)"), /disk is full/],
    ["read-only", new Error("Read-only file system (os error 30)"), /read-only: set DROPZONE_HOME/],
    [
      "permission denied",
      new Deno.errors.PermissionDenied("Permission denied (os error 13)"),
      /permissions of the path/,
    ],
    ["not found", new Deno.errors.NotFound("No such file"), /exists and is a directory/],
    ["not a directory", new Deno.errors.NotADirectory("Not a directory"), /exists and is a directory/],
    ["is a directory", new Deno.errors.IsADirectory("Is a directory"), /Check the path named above/],
    ["already exists", new Deno.errors.AlreadyExists("File exists"), /Check the path named above/],
    ["unexpected EOF", new Deno.errors.UnexpectedEof("early eof"), /cut short/],
    ["write zero", new Deno.errors.WriteZero("write zero"), /cut short/],
    ["os error 280 is not ENOSPC", new Error("os error 280"), undefined],
    ["a plain bug", new TypeError("x is undefined"), undefined],
    ["a DropzoneError without I/O text", new DropzoneError("IO", "x"), undefined],
    ["not an error", "No space left on device", undefined],
  ];
  for (const [name, err, expected] of cases) {
    await t.step(name, () => {
      const hint = ioFailureHint(err);
      if (expected === undefined) assert.equal(hint, undefined);
      else assert.match(hint ?? "(none)", expected);
    });
  }
});

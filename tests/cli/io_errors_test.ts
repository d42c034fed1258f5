/**
 * Ordinary I/O failures are user errors with a hint, never "a bug in dz" (issue 11 item 16): a missing output
 * directory, a truncated archive, a read-only home, a full disk.
 */
import assert from "node:assert/strict";
import { formatError } from "../../src/cli/render.ts";
import { runDz } from "../support/cli_harness.ts";
import { buildTar, file } from "../support/tar_writer.ts";

function assertUserError(r: { code: number; stderr: string }, message: RegExp, what: string, code = 1) {
  assert.equal(r.code, code, `${what}: ${r.stderr}`);
  assert.match(r.stderr, message, what);
  assert.match(r.stderr, /^hint: /m, `${what}: a hint`);
  assert.doesNotMatch(r.stderr, /bug in dz/, what);
}

Deno.test("export into a missing directory and installing a truncated archive are user errors", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dz-io-" });
  try {
    const home = `${dir}/home`;
    const missing = await runDz(["export", "jq", "-o", `${dir}/nope/jq.tar`], { home });
    assertUserError(
      missing,
      /^error: Cannot write .*\/nope\/jq\.tar: the directory .*\/nope does not exist$/m,
      "-o",
      2,
    );
    const isDir = await runDz(["export", "jq", "-o", dir], { home });
    assertUserError(isDir, /it is a directory/, "-o DIR", 2);

    const tar = buildTar([file("dz/export.json", "x".repeat(4000))]);
    await Deno.writeFile(`${dir}/cut.tar`, tar.subarray(0, 1500));
    const cut = await runDz(["install", `${dir}/cut.tar`], { home });
    assertUserError(cut, /^error: Cannot read archive .*cut\.tar: .*truncated/mi, "truncated archive");
    assert.match(cut.stderr, /copy it again/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a read-only dz home is a user error with a hint", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "dz-ro-" });
  const mount = (args: string[]) =>
    new Deno.Command("mount", { args, stdout: "null", stderr: "null" }).output();
  try {
    if (
      !(await mount(["-t", "tmpfs", "-o", "size=4m", "tmpfs", dir]).catch(() => ({ success: false }))).success
    ) {
      await t.step({ name: "needs mount(8) (root)", ignore: true, fn: () => {} });
      return;
    }
    try {
      const home = `${dir}/home`;
      assert.equal((await runDz(["list"], { home })).code, 0);
      assert.ok((await mount(["-o", "remount,ro", dir])).success);
      const doctor = await runDz(["doctor", "--fix"], { home });
      assert.doesNotMatch(doctor.stdout + doctor.stderr, /bug in dz/);
      const gc = await runDz(["gc"], { home });
      assertUserError(gc, /read-only/i, "gc");
      assert.match(gc.stderr, /^hint: .*(read-only|writable)/mi);
    } finally {
      await mount(["-o", "remount,rw", dir]).catch(() => {});
      await new Deno.Command("umount", { args: [dir] }).output().catch(() => {});
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("formatError gives I/O failures a hint instead of calling them a bug", () => {
  const cases: [Error, RegExp][] = [
    [new Error("No space left on device (os error 28)"), /disk is full/],
    [new Error("Read-only file system (os error 30)"), /read-only/],
    [new Deno.errors.PermissionDenied("Permission denied (os error 13)"), /permissions/],
    [new Deno.errors.NotFound("No such file or directory (os error 2)"), /exists/],
  ];
  for (const [err, hint] of cases) {
    const text = formatError(err, { verbose: false });
    assert.doesNotMatch(text, /bug in dz/, err.message);
    assert.match(text, new RegExp(`^error: ${err.message.replace(/[()]/g, "\\$&")}\\nhint: .*`), err.message);
    assert.match(text, hint, err.message);
  }
  assert.match(formatError(new TypeError("x is undefined"), { verbose: false }), /bug in dz/);
});

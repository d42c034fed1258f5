import assert from "node:assert/strict";

// Runs in the child without --allow-sys, as the compiled binary does, so Deno.umask() is denied and the probe is
// what decides whether a chmod is needed. Modes must come out exact under umasks that do and do not match.
Deno.test("applyLayer() sets exact modes when the umask is only known from a probe file", async () => {
  for (const umask of ["022", "077", "000"]) {
    const dir = await Deno.makeTempDir();
    const script = `umask ${umask}; exec "$0" run --allow-read --allow-write --no-prompt "$1" "$2"`;
    const child = new URL("./_umask_child.ts", import.meta.url).pathname;
    const out = await new Deno.Command("sh", {
      args: ["-c", script, Deno.execPath(), child, dir],
      stderr: "piped",
    })
      .output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    for (const [name, mode] of [["a", 0o644], ["b", 0o755], ["c", 0o600], ["d", 0o640]] as const) {
      assert.equal(
        (await Deno.stat(`${dir}/rootfs/${name}`)).mode! & 0o777,
        mode,
        `${name} under umask ${umask}`,
      );
    }
    assert.deepEqual([...Deno.readDirSync(`${dir}/rootfs`)].map((e) => e.name).sort(), ["a", "b", "c", "d"]);
    await Deno.remove(dir, { recursive: true });
  }
});

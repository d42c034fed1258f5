// deno-lint-ignore-file no-control-regex -- these tests inspect the escape sequences dz draws
/** The real dz under a pseudo-terminal (util-linux `script`): what an install draws at 100 and 60 columns. */
import assert from "node:assert/strict";
import { httpStore, signImageLegacy } from "../support/cosign_signer.ts";
import { hostBinaryEntries, IDENTITY, ISSUER, OCI_ARCH } from "../support/e2e.ts";
import { startFakeRegistry } from "../support/fake_registry.ts";
import { buildImage, pushIndex } from "../support/image_builder.ts";
import { runInPty } from "../support/pty.ts";
import { spawnDz } from "../support/cli_harness.ts";
import { createTestPki } from "../support/test_pki.ts";

const MiB = 1024 * 1024;

/** A signed 2-layer image (a host binary plus 3 MiB of random bytes) on a fake registry sending 1.5 MiB/s. */
async function slowRegistry() {
  const reg = await startFakeRegistry();
  const pki = await createTestPki();
  const noise = new Uint8Array(3 * MiB);
  for (let i = 0; i < noise.length; i += 65536) crypto.getRandomValues(noise.subarray(i, i + 65536));
  const image = await buildImage({
    layers: [
      { entries: await hostBinaryEntries("/usr/bin/echo", "echo") },
      { entries: [{ type: "file", path: "noise.bin", content: noise }] },
    ],
    config: { Entrypoint: ["/usr/bin/echo"], Cmd: ["big"] },
    platform: { os: "linux", architecture: OCI_ARCH },
  });
  const index = await pushIndex(reg, "apps/big", "latest", [image]);
  const signer = await pki.keyless({ identity: IDENTITY, issuer: ISSUER });
  await signImageLegacy(httpStore(reg), "apps/big", index.digest, signer);
  await signImageLegacy(httpStore(reg), "apps/big", image.digest, signer);
  reg.behaviour.blobBytesPerSecond = 1.5 * MiB;
  return { reg, pki };
}

async function freshHome(reg: { host: string }, trustedRoot: string): Promise<string> {
  const home = await Deno.makeTempDir({ prefix: "dz-pty-" });
  await Deno.writeTextFile(`${home}-root.json`, trustedRoot);
  const added = await spawnDz(
    [
      "add",
      "registry",
      "lab",
      `${reg.host}/apps`,
      "--issuer",
      ISSUER,
      "--identity",
      IDENTITY,
      "--trusted-root",
      `${home}-root.json`,
    ],
    { home },
  );
  assert.equal(added.code, 0, added.stderr);
  return home;
}

/** Splits what the terminal received into what was drawn on each redraw (\r) and each line (\r\n). */
function drawn(output: string): string[] {
  return output.replace(/\r\n/g, "\n").split(/[\r\n]/);
}

const visible = (s: string) => [...s.replace(/\x1b\[[0-9;]*m/g, "")].length;

for (const columns of [100, 60]) {
  Deno.test(`install on a ${columns}-column terminal: live progress with %, bytes, speed, ETA; nothing wraps`, async () => {
    const { reg, pki } = await slowRegistry();
    const home = await freshHome(reg, pki.trustedRootText);
    try {
      const started = Date.now();
      const r = await runInPty(["install", "lab/big"], { home, columns, env: { DZ_NO_TUF: "1" } });
      const seconds = (Date.now() - started) / 1000;
      assert.equal(r.code, 0, r.output);
      const frames = drawn(r.output);
      for (const f of frames) assert.ok(visible(f) < columns, `${columns} columns: ${JSON.stringify(f)}`);
      const progress = frames.filter((f) => /^Downloading\s+\d+%/.test(f));
      assert.ok(progress.length >= 3, r.output);
      assert.ok(
        progress.some((f) => /\d+% .*MiB \/ [\d.]+ MiB\s+[\d.]+ (KiB|MiB)\/s\s+ETA \d+s/.test(f)),
        progress.join("\n"),
      );
      // The total is the same in every frame: it is known before the first byte arrives.
      assert.equal(new Set(progress.map((f) => / \/ ([\d.]+ MiB)/.exec(f)?.[1])).size, 1);
      const redraws = frames.filter((f) => /^(Downloading|Unpacking)/.test(f)).length;
      assert.ok(redraws <= Math.ceil(seconds * 10) + 2, `${redraws} redraws in ${seconds}s`);
      assert.equal(frames.filter((f) => /^Downloaded [\d.]+ MiB in [\d.]+s/.test(f)).length, 1, r.output);
      assert.match(r.output, /Installed big latest/);
      // Colour (SGR) only: no cursor movement or erase-line escapes.
      assert.doesNotMatch(r.output.replace(/\x1b\[[0-9;]*m/g, ""), /\x1b/);
    } finally {
      await reg[Symbol.asyncDispose]();
      await Deno.remove(home, { recursive: true });
      await Deno.remove(`${home}-root.json`);
    }
  });
}

Deno.test("NO_COLOR draws no escapes; TERM=dumb and a pipe get one line per phase", async () => {
  const { reg, pki } = await slowRegistry();
  try {
    for (const env of [{ NO_COLOR: "1" }, { TERM: "dumb" }] as Record<string, string>[]) {
      const home = await freshHome(reg, pki.trustedRootText);
      try {
        const r = await runInPty(["install", "lab/big"], {
          home,
          columns: 80,
          env: { DZ_NO_TUF: "1", ...env },
        });
        assert.equal(r.code, 0, r.output);
        assert.doesNotMatch(r.output, /\x1b/, JSON.stringify(env));
        if ("TERM" in env) {
          assert.doesNotMatch(r.output.replace(/\r\n/g, "\n"), /\r/, "no redraws on a dumb terminal");
          assert.equal(r.output.match(/^Downloading 2 layers, /gm)?.length, 1);
        } else assert.match(r.output, /\rDownloading\s+\d+%/);
      } finally {
        await Deno.remove(home, { recursive: true });
        await Deno.remove(`${home}-root.json`);
      }
    }
    const home = await freshHome(reg, pki.trustedRootText);
    try {
      const piped = await spawnDz(["install", "lab/big"], { home, env: { DZ_NO_TUF: "1" } });
      assert.equal(piped.code, 0, piped.stderr);
      assert.doesNotMatch(piped.stderr, /\r|\x1b/);
      const phases = piped.stderr.split("\n").filter((l) => /^(Downloading|Unpacking|Downloaded)/.test(l));
      assert.deepEqual(phases.map((l) => l.split(" ")[0]), ["Downloading", "Unpacking", "Downloaded"]);
    } finally {
      await Deno.remove(home, { recursive: true });
      await Deno.remove(`${home}-root.json`);
    }
  } finally {
    await reg[Symbol.asyncDispose]();
  }
});

/**
 * Hostile signature artifacts against a real docker-registry, with dz as a child process whose peak memory
 * (VmHWM from /proc/<pid>/status, polled while it runs) must stay bounded.
 */
import assert from "node:assert/strict";
import { type Digest, digestHex } from "../../src/oci/digest.ts";
import { MEDIA_TYPES } from "../../src/oci/media_types.ts";
import { DZ_RUN_FLAGS } from "../support/cli_harness.ts";
import { startE2E } from "../support/e2e.ts";
import { encodeJson, pushBlob, pushManifest, type PushTarget } from "../support/oci_push.ts";

const MIB = 1024 * 1024;
const RSS_LIMIT_KIB = 256 * 1024;
/** The child is killed past this, so a regression cannot take the machine's memory with it. */
const KILL_AT_KIB = 1024 * 1024;

/**
 * Reads VmHWM (peak resident set) of a live process in KiB, or undefined once it is gone. Through `cat`: Deno
 * reads another process's /proc entries only with --allow-all.
 */
async function vmHwmKib(pid: number): Promise<number | undefined> {
  const out = await new Deno.Command("cat", {
    args: [`/proc/${pid}/status`],
    stdout: "piped",
    stderr: "null",
  })
    .output();
  if (!out.success) return undefined;
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(new TextDecoder().decode(out.stdout));
  return m ? Number(m[1]) : undefined;
}

/** Runs dz as a child process (the permissions of the compiled binary) and records its peak RSS. */
async function spawnDzMeasured(
  argv: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string; peakKib: number; killed: boolean }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", ...DZ_RUN_FLAGS, new URL("../../main.ts", import.meta.url).pathname, ...argv],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  let peakKib = 0;
  let killed = false;
  let running = true;
  const poll = (async () => {
    while (running) {
      const kib = await vmHwmKib(child.pid);
      if (kib !== undefined) peakKib = Math.max(peakKib, kib);
      if (peakKib > KILL_AT_KIB && !killed) {
        killed = true;
        child.kill("SIGKILL");
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const out = await output;
  running = false;
  await poll;
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
    peakKib,
    killed,
  };
}

/** A blob of `size` pseudo-random bytes (distinct per `seed`). */
function noise(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
    bytes[i + 1] = (x >>> 8) & 0xff;
    bytes[i + 2] = (x >>> 16) & 0xff;
    bytes[i + 3] = (x >>> 24) & 0xff;
  }
  return bytes;
}

/** Pushes a `.sig` manifest for `digest` whose layers are `layers` (already pushed blobs). */
async function pushHostileSig(
  target: PushTarget,
  repository: string,
  digest: Digest,
  layers: { digest: Digest; size: number }[],
): Promise<number> {
  const config = encodeJson({
    architecture: "",
    os: "",
    config: {},
    rootfs: { type: "layers", diff_ids: [] },
  });
  const configDigest = await pushBlob(target, repository, config);
  const manifest = encodeJson({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.OCI_MANIFEST,
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: configDigest,
      size: config.length,
    },
    layers: layers.map((l, i) => ({
      mediaType: MEDIA_TYPES.COSIGN_SIMPLE_SIGNING,
      digest: l.digest,
      size: l.size,
      // Distinct annotations per layer, so the layers are not exact duplicates of each other.
      annotations: { "dev.cosignproject.cosign/signature": btoa(`junk signature ${i}`.padEnd(48, "!")) },
    })),
  });
  await pushManifest(
    target,
    repository,
    `sha256-${digestHex(digest)}.sig`,
    manifest,
    MEDIA_TYPES.OCI_MANIFEST,
  );
  return manifest.length;
}

Deno.test({
  name: "dz verify stays under 256 MiB on a .sig listing one 4 MiB blob 1,000 times, and refuses it (exit 3)",
  async fn() {
    await using env = await startE2E();
    const pub = await env.publish("cat", "latest", "x\n", { sign: "none" });
    const repository = "apps/cat";
    const blob = noise(4 * MIB, 1);
    const blobDigest = await pushBlob(env.registry, repository, blob);
    const manifestBytes = await pushHostileSig(
      env.registry,
      repository,
      pub.digest,
      Array.from({ length: 1000 }, () => ({ digest: blobDigest, size: blob.length })),
    );
    assert.ok(manifestBytes > 200 * 1024, `hostile manifest is ${manifestBytes} bytes`);
    const r = await spawnDzMeasured(["verify", "lab/cat"], {
      DROPZONE_HOME: env.home,
      HOME: `${env.home}-user`,
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      DZ_NO_TUF: "1",
      NO_COLOR: "1",
    });
    assert.ok(!r.killed, `dz exceeded ${KILL_AT_KIB / 1024} MiB and was killed`);
    assert.ok(r.peakKib > 0, "VmHWM was never read");
    assert.ok(r.peakKib < RSS_LIMIT_KIB, `peak RSS ${(r.peakKib / 1024).toFixed(0)} MiB`);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stdout, /^NOT VERIFIED: /);
    assert.match(r.stderr, /^error: Cannot verify ".*": no signature matches the policy/m);
    assert.match(
      r.stderr,
      /sha256-[0-9a-f]{64}\.sig: 900 more layers were not read \(dz reads at most 100 per artifact\)/,
    );
    // The failure list is capped too: a thousand junk layers do not print a thousand lines.
    assert.ok(r.stderr.split("\n").length < 30, r.stderr);
  },
});

Deno.test({
  name: "dz verify refuses signature artifacts beyond its 32 MiB budget, naming the budget (exit 3)",
  async fn() {
    await using env = await startE2E();
    const pub = await env.publish("cat", "latest", "x\n", { sign: "none" });
    const repository = "apps/cat";
    const layers: { digest: Digest; size: number }[] = [];
    for (let i = 0; i < 10; i++) {
      const blob = noise(4 * MIB, i + 2);
      layers.push({ digest: await pushBlob(env.registry, repository, blob), size: blob.length });
    }
    await pushHostileSig(env.registry, repository, pub.digest, layers);
    const r = await spawnDzMeasured(["verify", "lab/cat"], {
      DROPZONE_HOME: env.home,
      HOME: `${env.home}-user`,
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      DZ_NO_TUF: "1",
      NO_COLOR: "1",
    });
    assert.ok(!r.killed, `dz exceeded ${KILL_AT_KIB / 1024} MiB and was killed`);
    assert.ok(r.peakKib < RSS_LIMIT_KIB, `peak RSS ${(r.peakKib / 1024).toFixed(0)} MiB`);
    assert.equal(r.code, 3, r.stderr);
    assert.match(
      r.stderr,
      /^error: Cannot verify ".*": its signature and attestation artifacts exceed dz's budget of 32 MiB/m,
    );
    assert.match(r.stderr, /^hint: /m);
  },
});

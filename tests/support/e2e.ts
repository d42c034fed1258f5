/**
 * End-to-end fixture: a real docker-registry on 127.0.0.1, an offline test PKI whose trusted root is configured
 * as the registry's `trusted_root`, a dz home with that registry added, and images whose entrypoint is a real
 * dynamically linked host binary shipped with its own loader and libraries.
 */
import { dirname } from "node:path";
import { lddPaths } from "./shim_fixtures.ts";
import type { Digest } from "../../src/oci/digest.ts";
import { runDz } from "./cli_harness.ts";
import { attestImageLegacy, httpStore, signImageBundle, signImageLegacy } from "./cosign_signer.ts";
import { buildImage, type BuiltImage, type BuiltIndex, pushIndex, type TarEntry } from "./image_builder.ts";
import { type LaunchedRegistry, launchRegistry } from "./registry_launcher.ts";
import type { PushTarget } from "./oci_push.ts";
import { createTestPki, type TestPki, type TestSigner } from "./test_pki.ts";

export const ISSUER = "https://token.actions.githubusercontent.com";
export const IDENTITY = "https://github.com/dz-test/tools/.github/workflows/release.yml@refs/heads/main";
export const OCI_ARCH = Deno.build.arch === "aarch64" ? "arm64" : "amd64";

/**
 * Tar entries for a rootfs holding `binary` at /usr/bin/<name> plus every library and the loader it needs, at the
 * paths the host uses (so PT_INTERP resolves inside the rootfs). `/bin` is an absolute symlink to `/usr/bin`.
 */
export async function hostBinaryEntries(binary: string, name: string): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  const dirs = new Set<string>();
  const addDirs = (path: string) => {
    const parts = dirname(path).split("/").filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join("/");
      if (!dirs.has(d)) {
        dirs.add(d);
        entries.push({ type: "dir", path: d, mode: 0o755 });
      }
    }
  };
  const addFile = async (hostPath: string, inRoot: string) => {
    addDirs(inRoot);
    entries.push({
      type: "file",
      path: inRoot,
      content: await Deno.readFile(await Deno.realPath(hostPath)),
      mode: 0o755,
    });
  };
  await addFile(binary, `usr/bin/${name}`);
  for (const lib of await lddPaths(binary)) await addFile(lib, lib.replace(/^\/+/, ""));
  entries.push({ type: "symlink", path: "bin", target: "/usr/bin" });
  return entries;
}

/** Arguments of `dz add registry lab <host>/apps …` with a keyless policy and the test PKI's trusted root. */
export function labRegistryArgs(
  env: { registry: { host: string }; trustedRootPath: string },
  policy: { identity?: string; identityRegex?: string } = {},
): string[] {
  return [
    "add",
    "registry",
    "lab",
    `${env.registry.host}/apps`,
    "--issuer",
    ISSUER,
    ...(policy.identityRegex
      ? ["--identity-regex", policy.identityRegex]
      : ["--identity", policy.identity ?? IDENTITY]),
    "--trusted-root",
    env.trustedRootPath,
  ];
}

/** A running end-to-end environment. */
export interface E2E extends AsyncDisposable {
  readonly registry: LaunchedRegistry;
  readonly pki: TestPki;
  readonly home: string;
  /** The configured registry name ("lab") whose URL is `<host>/apps`. */
  readonly registryName: string;
  readonly trustedRootPath: string;
  signer(): Promise<TestSigner>;
  dz(argv: string[], env?: Record<string, string>): ReturnType<typeof runDz>;
  /**
   * Builds an `echo`-based image printing `content` when run without arguments, pushes it as a one-platform
   * index under apps/<repo>:<tag>, and signs it (legacy `.sig` on index and platform digests by default).
   */
  publish(repo: string, tag: string, content: string, options?: PublishOptions): Promise<Published>;
}

/** How to sign a published image. */
export interface PublishOptions {
  sign?: "legacy" | "bundle" | "index-only" | "none";
  signer?: TestSigner;
  extraEntries?: TarEntry[];
  /** Another host binary as the entrypoint (default /usr/bin/echo); `content` becomes its only Cmd argument. */
  binary?: string;
  /** Attestations to attach (legacy .att) to the platform digest, signed by the same signer. */
  attest?: { predicateType: string; predicate: unknown }[];
  /** Push to this registry instead of the environment's (a mirror serving something else). */
  registry?: PushTarget;
  /** Repository namespace. @default {"apps"} */
  namespace?: string;
}

/** A published image. */
export interface Published {
  readonly index: BuiltIndex;
  readonly image: BuiltImage;
  readonly indexDigest: Digest;
  readonly digest: Digest;
}

/** Starts the environment; `accessLog` keeps the registry's access log (`env.registry.requests()`). */
export async function startE2E(options: { accessLog?: boolean } = {}): Promise<E2E> {
  const pki = await createTestPki();
  const registry = await launchRegistry(options.accessLog ? { accessLog: true } : {});
  const home = await Deno.makeTempDir({ prefix: "dz-e2e-" }).catch(async (err) => {
    await registry.stop();
    throw err;
  });
  const trustedRootPath = `${home}-trusted_root.json`;
  const stop = async () => {
    await registry.stop();
    await new Deno.Command("chmod", { args: ["-R", "u+rwX", home] }).output().catch(() => {});
    await Deno.remove(home, { recursive: true }).catch(() => {});
    await Deno.remove(trustedRootPath).catch(() => {});
  };
  const defaultStore = httpStore(registry);
  // DZ_NO_TUF: no test may reach the public TUF mirror (doctor --fix would refresh the embedded root).
  const env = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", DZ_NO_TUF: "1" };
  const dz = (argv: string[], extra: Record<string, string> = {}) =>
    runDz(argv, { home, env: { ...env, ...extra } });
  let base: TarEntry[];
  try {
    // A failed setup must not leave the registry running or the temp home behind.
    await Deno.writeTextFile(trustedRootPath, pki.trustedRootText);
    base = await hostBinaryEntries("/usr/bin/echo", "echo");
    const added = await dz(labRegistryArgs({ registry, trustedRootPath }));
    if (added.code !== 0) throw new Error(`add registry failed: ${added.stderr}`);
  } catch (err) {
    await stop();
    throw err;
  }
  const signer = () => pki.keyless({ identity: IDENTITY, issuer: ISSUER });
  return {
    registry,
    pki,
    home,
    registryName: "lab",
    trustedRootPath,
    signer,
    dz,
    async publish(repo, tag, content, options = {}) {
      const binName = options.binary ? options.binary.split("/").pop()! : "echo";
      const image = await buildImage({
        layers: [
          { entries: options.binary ? await hostBinaryEntries(options.binary, binName) : base },
          {
            entries: [
              { type: "dir", path: "etc" },
              { type: "file", path: "etc/release", content },
              ...(options.extraEntries ?? []),
            ],
          },
        ],
        // echo prints its Cmd, so each version's output shows which digest runs.
        config: {
          Entrypoint: ["/usr/bin/echo"],
          Cmd: [content.replace(/\n$/, "")],
          Env: ["PATH=/usr/bin:/bin"],
        },
        platform: { os: "linux", architecture: OCI_ARCH },
      });
      const repository = `${options.namespace ?? "apps"}/${repo}`;
      const target = options.registry ?? registry;
      const store = options.registry ? httpStore(options.registry) : defaultStore;
      const index = await pushIndex(target, repository, tag, [image]);
      const mode = options.sign ?? "legacy";
      const s = options.signer ?? (mode === "none" ? undefined : await signer());
      if (s && mode === "legacy") {
        await signImageLegacy(store, repository, index.digest, s);
        await signImageLegacy(store, repository, image.digest, s);
      } else if (s && mode === "index-only") {
        await signImageLegacy(store, repository, index.digest, s);
      } else if (s && mode === "bundle") {
        await signImageBundle(store, repository, index.digest, s);
        await signImageBundle(store, repository, image.digest, s);
      }
      for (const a of options.attest ?? []) {
        await attestImageLegacy(store, repository, image.digest, s ?? await signer(), a);
      }
      return { index, image, indexDigest: index.digest, digest: image.digest };
    },
    [Symbol.asyncDispose]: stop,
  };
}

/** Runs an installed wrapper and returns its stdout. */
export async function runWrapper(
  path: string,
  args: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(path, {
    args,
    stdout: "piped",
    stderr: "piped",
    env: { LD_LIBRARY_PATH: "" },
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

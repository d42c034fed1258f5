/** Test fixtures for the store: metadata and staged versions built in code. */
import { join } from "node:path";
import type { InstallDeps } from "../../src/app/install.ts";
import { type Digest, sha256Digest } from "../../src/oci/digest.ts";
import type { RegistryClient } from "../../src/registry/types.ts";
import type { Config } from "../../src/store/config.ts";
import type { StoreLayout } from "../../src/store/layout.ts";
import { FIXTURE_REGISTRIES } from "./resolved_image.ts";
import { HOST } from "./shim_fixtures.ts";
import type { PackageMetadata } from "../../src/store/metadata.ts";
import {
  activate,
  commitVersion,
  type InstalledVersion,
  makePackageStaging,
} from "../../src/store/packages.ts";

/** A complete config with dz's defaults (keep 2 versions, concurrency 2, layer cache on) and `registries`. */
export function testConfig(registries: Config["registries"]): Config {
  return {
    version: 1,
    always_allow_unsigned: false,
    registries,
    keep_versions: 2,
    concurrency: 2,
    layer_cache: true,
    mirrors: [],
  };
}

/**
 * Install deps for unsigned installs from `client` into `layout`, with the fixture registries (`lab`) and the
 * test host; loading trust material fails, since an unsigned install must not.
 */
export function unsignedInstallDeps(
  layout: StoreLayout,
  client: RegistryClient,
  onEvent?: InstallDeps["onEvent"],
): InstallDeps {
  return {
    layout,
    config: testConfig(FIXTURE_REGISTRIES),
    client,
    host: HOST,
    now: () => new Date("2026-12-01T12:00:00.000Z"),
    loadTrust: () => Promise.reject(new Error("an unsigned install loads no trust material")),
    ...(onEvent !== undefined ? { onEvent } : {}),
  };
}
/** sha256 digest of a string. */
export function digestOf(text: string): Promise<Digest> {
  return sha256Digest(new TextEncoder().encode(text));
}

/** A complete, valid metadata document. */
export async function sampleMetadata(
  name: string,
  version: string,
  overrides: Partial<PackageMetadata> = {},
): Promise<PackageMetadata> {
  return {
    schema_version: 1,
    name,
    kind: "image",
    artifact_file: null,
    ref: `cgr/${name}:${version}`,
    registry: { name: "cgr", url: "https://cgr.dev/chainguard" },
    repository: `chainguard/${name}`,
    tag: version,
    index_digest: await digestOf(`index ${name} ${version}`),
    digest: await digestOf(`manifest ${name} ${version}`),
    platform: "linux/amd64",
    entrypoint: { raw: [`/usr/bin/${name}`], resolved: `/usr/bin/${name}` },
    loader: "/lib/ld-linux-x86-64.so.2",
    bins: [{ name, path: `/usr/bin/${name}` }],
    trusted_signer: null,
    signature: {
      verified: true,
      identity: "https://github.com/chainguard-images/images/.github/workflows/release.yaml@refs/heads/main",
      issuer: "https://token.actions.githubusercontent.com",
      source: "bundle-referrer",
      signed_digest: await digestOf(`index ${name} ${version}`),
      rekor_log_index: 12345,
      integrated_time: 1_760_000_000,
      verified_at: "2026-11-22T10:00:00.000Z",
      proof: "signature",
      provenance: null,
    },
    proof: "signature",
    allow_unsigned: false,
    attestations: [{ predicateType: "https://spdx.dev/Document", verified: true, kind: "sbom" }],
    layers: [await digestOf(`layer ${name} ${version}`)],
    config_digest: await digestOf(`config ${name} ${version}`),
    installed_at: new Date(Date.UTC(2026, 0, 1) + version.length * 1000 + version.charCodeAt(0) * 60_000)
      .toISOString(),
    size_bytes: 1024,
    served_by: null,
    cross_checked: [],
    ...overrides,
  };
}

/** Stages a version: `packages/<name>/.staging-*` with rootfs/usr/bin/<name> containing `version`. */
export async function stageVersion(
  layout: StoreLayout,
  name: string,
  version: string,
  files: Record<string, string> = {},
): Promise<{ staging: string; metadata: PackageMetadata }> {
  const staging = await makePackageStaging(layout, name);
  const bin = join(staging, "rootfs", "usr", "bin");
  await Deno.mkdir(bin, { recursive: true });
  await Deno.writeTextFile(join(bin, name), `#!/bin/sh\necho ${name} ${version}\n`, { mode: 0o755 });
  for (const [rel, content] of Object.entries(files)) {
    const path = join(staging, "rootfs", rel);
    await Deno.mkdir(join(path, ".."), { recursive: true });
    await Deno.writeTextFile(path, content);
  }
  return { staging, metadata: await sampleMetadata(name, version) };
}

/** Stages, commits and activates a version. */
export async function installVersion(
  layout: StoreLayout,
  name: string,
  version: string,
  files: Record<string, string> = {},
): Promise<InstalledVersion> {
  const { staging, metadata } = await stageVersion(layout, name, version, files);
  const { version: installed } = await commitVersion(layout, name, staging, metadata);
  await activate(layout, name, installed.digest);
  return installed;
}

/** Asserts-friendly check that a version works: receipt valid and its entrypoint file readable. */
export async function entrypointText(version: InstalledVersion): Promise<string> {
  return await Deno.readTextFile(join(version.rootfs, version.metadata.entrypoint.resolved));
}

/**
 * `dz doctor`: finds drift between the store, the wrappers in `bin/`, the config and the environment, and repairs
 * what is safe to repair. Beyond the Go doctor (anchor §7.3, §11 item 28): it only ever treats files carrying the
 * dz marker as wrappers, detects stale wrapper content, partial and corrupt versions, crash leftovers, config
 * validity, trusted root age and auth.json permissions, and its exit code reflects what remains.
 *
 * `diagnose` only reads. `fix` must run under the store lock; it re-reads the state itself (findings go stale
 * while waiting for the lock) and returns what it changed. The small pure helpers below are unit-tested.
 */
import { splitRegistryUrl } from "../oci/reference.ts";
import type { RegistryClient } from "../registry/types.ts";
import { join } from "node:path";
import { DropzoneError } from "../errors.ts";
import type { Host } from "../runtime.ts";
import { pathStatus } from "../host/path.ts";
import { isDzWrapper, readWrapperMeta, renderWrapper } from "../shim/wrapper.ts";
import { readFileHead, removeWrapper, writeLink, writeWrapper } from "../shim/write.ts";
import { linkOwner, readLinkAt } from "../shim/link.ts";
import { artifactLinks } from "./artifact.ts";
import type { ShimPlan } from "../shim/plan.ts";
import { removeTree } from "../store/atomic.ts";
import { referencedBlobs } from "../store/blob_reachability.ts";
import { type Config, loadConfig } from "../store/config.ts";
import type { StoreLayout } from "../store/layout.ts";
import type { PackageMetadata } from "../store/metadata.ts";
import { rootfsProblem } from "../store/package_state.ts";
import { listPackages, readCurrent } from "../store/packages.ts";
import { repairStore, scanStore, type StoreFinding, type StoreRepair } from "../store/recovery.ts";
import { type LoadedTrustedRoot, loadTrustedRoot } from "../verify/trusted_root.ts";
import { planForVersion } from "./install.ts";
import { publicGoodSignatures, trustedRootFinding, usesPublicGoodRoot } from "./doctor_trust.ts";
export { TRUSTED_ROOT_WARN_AGE_SECONDS, trustedRootFinding, usesPublicGoodRoot } from "./doctor_trust.ts";
import { missingBlobs, reunpackFromCache } from "./repair.ts";

/** How bad a finding is. Errors and warnings make `dz doctor` exit 1; info never does. */
export type Severity = "error" | "warning" | "info";

/** Every kind of finding. */
export type FindingKind =
  | "config-invalid"
  | "orphan-wrapper"
  | "foreign-file"
  | "missing-wrapper"
  | "stale-wrapper"
  | "unplannable-wrapper"
  | "bin-leftover"
  | "leftover"
  | "no-current"
  | "broken-current"
  | "incomplete-version"
  | "corrupt-metadata"
  | "damaged-rootfs"
  | "unreferenced-blob"
  | "path"
  | "trusted-root"
  | "auth-permissions"
  | "rate-limit"
  | "mirror-unreachable";

/**
 * One thing doctor found. JSON field of `dz doctor --json`.
 *
 * - `kind`: one of {@linkcode FindingKind}.
 * - `severity`: "error" (something is broken), "warning" (drift or risk), "info" (for your attention only).
 * - `subject`: what it is about: a package name, a wrapper path, a file path or a digest.
 * - `message`: one human-readable sentence.
 * - `fixable`: `dz doctor --fix` repairs it.
 * - `path`: the file or directory concerned, when there is one.
 * - `bytes`: size, for unreferenced blobs.
 */
export interface Finding {
  readonly kind: FindingKind;
  readonly severity: Severity;
  readonly subject: string;
  readonly message: string;
  readonly fixable: boolean;
  readonly path?: string;
  readonly bytes?: number;
}

/**
 * One change `dz doctor --fix` made. JSON field of `dz doctor --json --fix`.
 *
 * - `kind`: "removed-leftover", "repointed-current", "removed-incomplete-version", "removed-empty-package",
 *   "removed-blob", "reunpacked", "wrote-wrapper", "removed-orphan-wrapper", "removed-bin-leftover",
 *   "refreshed-trusted-root", "chmod-auth".
 * - `subject`: the package, wrapper or path changed.
 * - `message`: one human-readable sentence.
 */
export interface Change {
  readonly kind: string;
  readonly subject: string;
  readonly message: string;
}

/**
 * The `dz doctor --json` document.
 *
 * - `findings`: what is wrong now (after the fixes, with `--fix`), sorted by severity then kind then subject.
 * - `fixed`: the changes `--fix` made (empty without `--fix`).
 * - `healthy`: no finding of severity error or warning remains (the exit code is 0 exactly when true).
 */
export interface DoctorReport {
  readonly findings: Finding[];
  readonly fixed: Change[];
  readonly healthy: boolean;
}

/** What doctor needs from the outside. */
export interface DoctorDeps {
  readonly layout: StoreLayout;
  readonly env: (name: string) => string | undefined;
  readonly homeDir: string;
  readonly os: string;
  readonly now: Date;
  /** Probes registries' pull quotas (see {@linkcode quotaFindings}); skipped when absent. */
  readonly probeQuota?: () => Promise<Finding[]>;
  /** Pings every mirror location (see doctor_mirrors.ts); skipped when absent. */
  readonly probeMirrors?: () => Promise<Finding[]>;
  /**
   * Refreshes the public-good trusted root through TUF (`dz doctor --fix`); absent when dz must not go online
   * (DZ_OFFLINE, DZ_NO_TUF).
   */
  readonly refreshTrustedRoot?: () => Promise<LoadedTrustedRoot>;
  /** Overrides the trusted root loader (tests). */
  readonly loadTrustedRoot?: (
    options: { cacheDir: string; now: Date; offline: true },
  ) => Promise<LoadedTrustedRoot>;
}

const SEVERITY_RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Sorts findings: errors first, then warnings, then info; by kind and subject within. Pure. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort((a, b) =>
    SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || a.kind.localeCompare(b.kind) ||
    a.subject.localeCompare(b.subject)
  );
}

/** True when no error or warning remains. Pure. */
export function isHealthy(findings: readonly Finding[]): boolean {
  return findings.every((f) => f.severity === "info");
}

/** Maps a store finding from `scanStore` to a doctor finding. Pure. */
export function storeFindingToDoctor(f: StoreFinding): Finding {
  switch (f.kind) {
    case "leftover":
      return {
        kind: "leftover",
        severity: "warning",
        subject: f.path,
        path: f.path,
        message: `leftover of an interrupted dz: ${f.path}`,
        fixable: true,
      };
    case "no-current":
      return {
        kind: "no-current",
        severity: "error",
        subject: f.name,
        message: `package "${f.name}" has no current version`,
        fixable: true,
      };
    case "broken-current":
      return {
        kind: "broken-current",
        severity: "error",
        subject: f.name,
        message: `package "${f.name}": current -> ${f.target} is missing or incomplete`,
        fixable: true,
      };
    case "incomplete-version":
      return {
        kind: "incomplete-version",
        severity: "warning",
        subject: f.name,
        path: f.path,
        message: `package "${f.name}": version ${f.digest} is half-written (no metadata.json)`,
        fixable: true,
      };
    case "corrupt-metadata":
      return {
        kind: "corrupt-metadata",
        severity: "error",
        subject: f.name,
        path: f.path,
        message: `package "${f.name}": version ${f.digest} has corrupt metadata: ${f.message}`,
        fixable: false,
      };
    case "unreferenced-blob":
      return {
        kind: "unreferenced-blob",
        severity: "info",
        subject: f.digest,
        bytes: f.size,
        message:
          `cached blob ${f.digest} (${f.size} bytes) is not used by any installed version; "dz gc" frees it`,
        fixable: false,
      };
  }
}

/** Describes a store repair. Pure. */
export function describeRepair(r: StoreRepair): Change {
  switch (r.kind) {
    case "removed-leftover":
      return { kind: r.kind, subject: r.path, message: `removed leftover ${r.path}` };
    case "repointed-current": {
      const which = `${r.digest} (${r.tag ?? "by digest"}, installed ${r.installedAt})`;
      return {
        kind: r.kind,
        subject: r.name,
        message: r.older
          ? `re-pointed "${r.name}" current from ${r.from}, which is damaged, to the EARLIER version ${which}; ` +
            `"dz update ${r.name}" or "dz install" of its reference brings the newer one back`
          : `re-pointed "${r.name}" current (${r.from === null ? "missing" : `was ${r.from}`}) at ${which}`,
      };
    }
    case "removed-incomplete-version":
      return {
        kind: r.kind,
        subject: r.name,
        message: `removed half-written version ${r.digest} of "${r.name}"`,
      };
    case "removed-empty-package":
      return { kind: r.kind, subject: r.name, message: `removed "${r.name}": it had no complete version` };
    case "removed-blob":
      return { kind: r.kind, subject: r.digest, message: `removed unreferenced blob ${r.digest}` };
  }
}

/** What a file in bin/ is, relative to the installed packages. Pure. */
export type BinEntryClass =
  | { readonly kind: "foreign" }
  | { readonly kind: "leftover" }
  | { readonly kind: "orphan"; readonly package: string | null }
  | { readonly kind: "owned"; readonly package: string }
  | { readonly kind: "damaged-package"; readonly package: string };

/**
 * Classifies an entry of bin/. `text` is the file's head (null for a non-file). `expected` maps each wrapper
 * name the installed packages should have to its package; `packageDirs` are the package names that have a
 * directory (their wrappers are not orphans while the package is merely damaged). Pure.
 */
export function classifyBinEntry(
  name: string,
  text: string | null,
  expected: ReadonlyMap<string, string>,
  packageDirs: ReadonlySet<string>,
): BinEntryClass {
  const isDz = text !== null && isDzWrapper(text);
  // writeWrapper stages `.<name>.<random>.tmp` next to the target; a dz-marked or empty one is a crash leftover.
  if (name.startsWith(".") && name.endsWith(".tmp") && text !== null && (isDz || text.length === 0)) {
    return { kind: "leftover" };
  }
  if (!isDz) return { kind: "foreign" };
  const meta = readWrapperMeta(text);
  const owner = expected.get(name);
  if (owner !== undefined && (meta === null || meta.package === owner)) {
    return { kind: "owned", package: owner };
  }
  const pkg = meta?.package ?? null;
  if (owner === undefined && pkg !== null && packageDirs.has(pkg) && !expectedPackages(expected).has(pkg)) {
    return { kind: "damaged-package", package: pkg };
  }
  return { kind: "orphan", package: pkg };
}

function expectedPackages(expected: ReadonlyMap<string, string>): Set<string> {
  return new Set(expected.values());
}

/** The auth.json permission finding for a file mode, or null when it is 0600-or-stricter. Pure. */
export function authPermissionFinding(path: string, mode: number | null): Finding | null {
  if (mode === null || (mode & 0o077) === 0) return null;
  return {
    kind: "auth-permissions",
    severity: "warning",
    subject: path,
    path,
    message: `${path} holds credentials but has mode ${(mode & 0o777).toString(8).padStart(4, "0")}; ` +
      `it must be 0600`,
    fixable: true,
  };
}

/** Parses "os/arch[/variant]" (metadata `platform`) into a Host. Pure. */
export function hostFromPlatform(platform: string, fallback: Host): Host {
  const [os, arch, variant] = platform.split("/");
  if (!os || !arch) return fallback;
  return { os, arch, ...(variant ? { variant } : {}) };
}

// ---------------------------------------------------------------------------------------------------------------
// I/O

async function readDirSafe(path: string): Promise<Deno.DirEntry[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(path))).sort((a, b) => a.name.localeCompare(b.name));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) return [];
    throw err;
  }
}

async function readWhole(path: string): Promise<string | null> {
  try {
    const info = await Deno.lstat(path);
    if (!info.isFile) return null;
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

/** The wrapper text each bin of `meta` should have, or the reason it cannot be planned. */
async function expectedWrappers(
  layout: StoreLayout,
  meta: PackageMetadata,
  fallbackHost: Host,
): Promise<{ texts: Map<string, string> } | { error: string }> {
  let plan: ShimPlan;
  try {
    plan = await planForVersion(layout, meta, hostFromPlatform(meta.platform, fallbackHost));
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
  const texts = new Map<string, string>();
  for (const p of [plan, ...plan.extraBins]) {
    texts.set(
      p.name,
      renderWrapper(p, { packagesDir: layout.packages, name: meta.name, digest: meta.digest }),
    );
  }
  return { texts };
}

interface WrapperState {
  findings: Finding[];
  /** For fixes: wrapper name → text to write. */
  toWrite: Map<string, { text: string; package: string } | { link: string; package: string }>;
  /** For fixes: orphan dz wrapper names. */
  orphans: string[];
  /** For fixes: bin leftovers (full paths). */
  leftovers: string[];
}

/** Installed versions whose rootfs or entrypoint was deleted, with what is wrong and whether the cache can fix it. */
async function inspectRootfs(layout: StoreLayout): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const v of await listPackages(layout)) {
    const problem = await rootfsProblem(layout, v.metadata);
    if (problem === null) continue;
    const missing = await missingBlobs(layout, v.metadata);
    // An artifact's file is not a rootfs layer: re-unpacking it as one would be wrong; a reinstall restores it.
    const artifact = v.metadata.kind === "artifact";
    findings.push({
      kind: "damaged-rootfs",
      severity: "error",
      subject: v.name,
      path: v.rootfs,
      message: `package "${v.name}": ${problem}; ` +
        (artifact
          ? `reinstall it with "dz install ${v.metadata.ref}"`
          : missing.length === 0
          ? "dz doctor --fix unpacks it again from the blob cache"
          : `${missing.length} of its blobs are no longer cached: reinstall it with "dz install ${v.metadata.ref}"`),
      fixable: missing.length === 0 && !artifact,
    });
  }
  return findings;
}

async function inspectWrappers(layout: StoreLayout, host: Host): Promise<WrapperState> {
  const state: WrapperState = { findings: [], toWrite: new Map(), orphans: [], leftovers: [] };
  const installed = await listPackages(layout);
  const expected = new Map<string, string>();
  const texts = new Map<string, string>();
  // Artifact packages have symlinks in bin/ instead of wrappers: name → target.
  const links = new Map<string, string>();
  for (const v of installed) {
    const meta = v.metadata;
    if ((await rootfsProblem(layout, meta)) !== null) {
      // Reported as damaged-rootfs; its wrappers are still its own (not orphans) and are re-planned after repair.
      for (const bin of meta.bins) expected.set(bin.name, meta.name);
      continue;
    }
    if (meta.kind === "artifact") {
      for (const l of artifactLinks(layout, meta)) {
        expected.set(l.name, meta.name);
        links.set(l.name, l.target);
      }
      continue;
    }
    const planned = await expectedWrappers(layout, meta, host);
    for (const bin of meta.bins) {
      expected.set(bin.name, meta.name);
      if ("error" in planned) continue;
      const text = planned.texts.get(bin.name);
      if (text !== undefined) texts.set(bin.name, text);
    }
    if ("error" in planned) {
      state.findings.push({
        kind: "unplannable-wrapper",
        severity: "error",
        subject: meta.name,
        message: `package "${meta.name}": cannot re-plan its wrapper: ${planned.error}; reinstall it`,
        fixable: false,
      });
    }
  }
  const packageDirs = new Set(
    (await readDirSafe(layout.packages)).filter((e) => e.isDirectory && !e.name.startsWith(".")).map((e) =>
      e.name
    ),
  );
  const seen = new Set<string>();
  for (const entry of await readDirSafe(layout.bin)) {
    const path = join(layout.bin, entry.name);
    const linkedTo = await readLinkAt(path);
    const linkPackage = linkedTo === null ? null : linkOwner(layout.packages, linkedTo);
    if (linkPackage !== null) {
      seen.add(entry.name);
      const want = links.get(entry.name);
      if (want !== undefined && expected.get(entry.name) === linkPackage) {
        if (linkedTo !== want) {
          state.toWrite.set(entry.name, { link: want, package: linkPackage });
          state.findings.push({
            kind: "stale-wrapper",
            severity: "warning",
            subject: path,
            path,
            message: `link ${path} points at ${linkedTo}, not the current version of "${linkPackage}"`,
            fixable: true,
          });
        }
      } else if (!(packageDirs.has(linkPackage) && !expectedPackages(expected).has(linkPackage))) {
        state.orphans.push(entry.name);
        state.findings.push({
          kind: "orphan-wrapper",
          severity: "warning",
          subject: path,
          path,
          message: `dz link ${path} belongs to "${linkPackage}", which does not provide it (not installed)`,
          fixable: true,
        });
      }
      continue;
    }
    const head = await readFileHead(path);
    const cls = classifyBinEntry(entry.name, head, expected, packageDirs);
    seen.add(entry.name);
    switch (cls.kind) {
      case "foreign":
        state.findings.push({
          kind: "foreign-file",
          severity: "info",
          subject: path,
          path,
          message: `${path} is not managed by dz (left alone)`,
          fixable: false,
        });
        break;
      case "leftover":
        state.leftovers.push(path);
        state.findings.push({
          kind: "bin-leftover",
          severity: "warning",
          subject: path,
          path,
          message: `half-written wrapper ${path} left by an interrupted dz`,
          fixable: true,
        });
        break;
      case "orphan":
        state.orphans.push(entry.name);
        state.findings.push({
          kind: "orphan-wrapper",
          severity: "warning",
          subject: path,
          path,
          message: cls.package === null
            ? `dz wrapper ${path} names no package`
            : `dz wrapper ${path} belongs to "${cls.package}", which does not provide it (not installed)`,
          fixable: true,
        });
        break;
      case "damaged-package":
        break; // the store findings for the package cover it; fixing the package makes it owned again
      case "owned": {
        const link = links.get(entry.name);
        if (link !== undefined) {
          // A wrapper where the current (artifact) version wants its link.
          state.toWrite.set(entry.name, { link, package: cls.package });
          state.findings.push({
            kind: "stale-wrapper",
            severity: "warning",
            subject: path,
            path,
            message: `${path} is a wrapper, but the current version of "${cls.package}" is linked directly`,
            fixable: true,
          });
          break;
        }
        const want = texts.get(entry.name);
        if (want === undefined) break; // unplannable: reported above
        const have = await readWhole(path);
        if (have !== want) {
          state.toWrite.set(entry.name, { text: want, package: cls.package });
          state.findings.push({
            kind: "stale-wrapper",
            severity: "warning",
            subject: path,
            path,
            message:
              `wrapper ${path} differs from what dz generates for the current version of "${cls.package}"`,
            fixable: true,
          });
        }
        break;
      }
    }
  }
  for (const [name, pkg] of expected) {
    if (seen.has(name)) continue;
    const path = join(layout.bin, name);
    const want = texts.get(name);
    const link = links.get(name);
    if (want !== undefined) state.toWrite.set(name, { text: want, package: pkg });
    if (link !== undefined) state.toWrite.set(name, { link, package: pkg });
    state.findings.push({
      kind: "missing-wrapper",
      severity: "error",
      subject: path,
      path,
      message: `package "${pkg}" has no wrapper ${path}`,
      fixable: want !== undefined || link !== undefined,
    });
  }
  return state;
}

async function inspectConfig(layout: StoreLayout): Promise<{ findings: Finding[]; config?: Config }> {
  try {
    const loaded = await loadConfig(layout.configFile);
    return { findings: [], config: loaded.config };
  } catch (err) {
    if (!(err instanceof DropzoneError)) throw err;
    return {
      findings: [{
        kind: "config-invalid",
        severity: "error",
        subject: layout.configFile,
        path: layout.configFile,
        message: err.message + (err.hint ? ` (${err.hint})` : ""),
        fixable: false,
      }],
    };
  }
}

async function inspectTrust(deps: DoctorDeps, config: Config | undefined): Promise<Finding[]> {
  const findings: Finding[] = [];
  if (config === undefined) return findings;
  const load = deps.loadTrustedRoot ?? loadTrustedRoot;
  if (usesPublicGoodRoot(config)) {
    try {
      const root = await load({ cacheDir: deps.layout.cache, now: deps.now, offline: true });
      const installed = (await listPackages(deps.layout)).map((v) => v.metadata);
      const f = trustedRootFinding(root, { now: deps.now, signed: publicGoodSignatures(config, installed) });
      if (f) findings.push(f);
    } catch (err) {
      findings.push({
        kind: "trusted-root",
        severity: "error",
        subject: "sigstore public-good",
        message: `the trusted root cannot be loaded: ${err instanceof Error ? err.message : String(err)}`,
        fixable: false,
      });
    }
  }
  for (const r of config.registries) {
    const override = r.cosign_policy?.trusted_root;
    if (override === undefined) continue;
    try {
      await loadTrustedRoot({
        cacheDir: deps.layout.cache,
        now: deps.now,
        offline: true,
        overridePath: override,
      });
    } catch (err) {
      findings.push({
        kind: "trusted-root",
        severity: "error",
        subject: r.name,
        path: override,
        message: `registry "${r.name}": trusted root ${override} is unusable: ` +
          (err instanceof Error ? err.message : String(err)),
        fixable: false,
      });
    }
  }
  return findings;
}

async function authMode(path: string): Promise<number | null> {
  try {
    const info = await Deno.lstat(path);
    return info.isFile ? info.mode : null;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

/** Reads everything doctor checks and returns the findings, sorted. Never modifies anything. */
export async function diagnose(deps: DoctorDeps, host: Host): Promise<Finding[]> {
  const { layout } = deps;
  const findings: Finding[] = [];
  const cfg = await inspectConfig(layout);
  findings.push(...cfg.findings);
  // scanStore only knows the image blobs; signature artifacts kept for offline re-verification are in use too.
  const referenced = await referencedBlobs(layout);
  findings.push(
    ...(await scanStore(layout))
      .filter((f) => f.kind !== "unreferenced-blob" || !referenced.has(f.digest))
      .map(storeFindingToDoctor),
  );
  findings.push(...await inspectRootfs(layout));
  findings.push(...(await inspectWrappers(layout, host)).findings);
  const status = await pathStatus({ binDir: layout.bin, env: deps.env, homeDir: deps.homeDir, os: deps.os });
  if (!status.onPath) {
    findings.push({
      kind: "path",
      severity: "warning",
      subject: layout.bin,
      message: `${layout.bin} is not on PATH` +
        (status.blockPresent
          ? ` (the block in ${status.rcFile} applies to new shells)`
          : `; run "dz path setup"`),
      fixable: false,
    });
  }
  findings.push(...await inspectTrust(deps, cfg.config));
  const auth = authPermissionFinding(layout.authFile, await authMode(layout.authFile));
  if (auth) findings.push(auth);
  if (deps.probeQuota) findings.push(...await deps.probeQuota());
  if (deps.probeMirrors) findings.push(...await deps.probeMirrors());
  return sortFindings(findings);
}

/**
 * Pull-quota findings: one HEAD per registry host that installed packages come from (HEADs are free on Docker
 * Hub), reporting `RateLimit-Remaining`. Below 10% of the limit it is a warning; otherwise information. A
 * registry that cannot be reached is reported as information and never fails doctor.
 */
export async function quotaFindings(
  client: Pick<RegistryClient, "headManifest">,
  packages: readonly PackageMetadata[],
  options: { timeoutMs?: number } = {},
): Promise<Finding[]> {
  const byHost = new Map<string, PackageMetadata>();
  for (const p of packages) {
    const host = splitRegistryUrl(p.registry.url).host;
    if (!byHost.has(host)) byHost.set(host, p);
  }
  const out: Finding[] = [];
  await Promise.all([...byHost].map(async ([host, p]) => {
    try {
      const head = await client.headManifest(
        { registry: host, repository: p.repository },
        p.tag ?? p.digest,
        {
          signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
        },
      );
      const q = head?.rateLimit;
      if (!q) return;
      const window = q.windowSeconds ? ` per ${Math.round(q.windowSeconds / 3600)}h` : "";
      out.push({
        kind: "rate-limit",
        severity: q.remaining < q.limit * 0.1 ? "warning" : "info",
        subject: host,
        message:
          `${host}: ${q.remaining} of ${q.limit} pulls left${window} (update checks use HEAD and spend none)`,
        fixable: false,
      });
    } catch (err) {
      out.push({
        kind: "rate-limit",
        severity: "info",
        subject: host,
        message: `${host}: could not read the pull quota (${(err as Error).message.split("\n")[0]})`,
        fixable: false,
      });
    }
  }));
  return out;
}

/**
 * Repairs what is safe: store leftovers, missing or broken `current`, half-written versions (via
 * `repairStore`), then missing and stale wrappers (regenerated from the current version), orphan dz wrappers,
 * half-written wrapper temp files, and auth.json permissions. Foreign files, corrupt metadata, config errors and
 * environment findings are never touched. Call it holding the store lock; it re-reads the state itself.
 */
export async function fix(deps: DoctorDeps, host: Host): Promise<Change[]> {
  const { layout } = deps;
  const changes: Change[] = [];
  const store = await scanStore(layout);
  changes.push(...(await repairStore(layout, store)).map(describeRepair));
  for (const f of await inspectRootfs(layout)) {
    if (!f.fixable) continue;
    const current = await readCurrent(layout, f.subject);
    const problem = current ? await rootfsProblem(layout, current.metadata) : null;
    if (!current || problem === null) continue;
    const { config } = await inspectConfig(layout);
    await reunpackFromCache(layout, config ?? { concurrency: 4, layer_cache: true }, current.metadata);
    changes.push({
      kind: "reunpacked",
      subject: f.subject,
      message: `unpacked "${f.subject}" ${current.digest} again from the blob cache (${problem})`,
    });
  }
  // Wrappers after the store: a re-pointed package gets its wrappers back instead of losing them as orphans.
  const wrappers = await inspectWrappers(layout, host);
  for (const path of wrappers.leftovers) {
    await removeTree(path);
    changes.push({
      kind: "removed-bin-leftover",
      subject: path,
      message: `removed half-written wrapper ${path}`,
    });
  }
  for (const [name, entry] of wrappers.toWrite) {
    const pkg = entry.package;
    if ("link" in entry) await writeLink(layout.bin, name, entry.link, pkg);
    else await writeWrapper(layout.bin, name, entry.text);
    const path = join(layout.bin, name);
    changes.push({
      kind: "wrote-wrapper",
      subject: path,
      message: `regenerated wrapper ${path} for "${pkg}"`,
    });
  }
  for (const name of wrappers.orphans) {
    const path = join(layout.bin, name);
    if (await removeWrapper(layout.bin, name)) {
      changes.push({
        kind: "removed-orphan-wrapper",
        subject: path,
        message: `removed orphan wrapper ${path}`,
      });
    }
  }
  if (deps.refreshTrustedRoot) {
    const { config } = await inspectConfig(layout);
    // Online, an embedded-only root is refreshed even while it is still good enough (an info finding).
    const load = deps.loadTrustedRoot ?? loadTrustedRoot;
    const root = config && usesPublicGoodRoot(config)
      ? await load({ cacheDir: layout.cache, now: deps.now, offline: true }).catch(() => undefined)
      : undefined;
    const stale = root !== undefined &&
      (root.source === "embedded" || trustedRootFinding(root, { now: deps.now })?.fixable === true);
    if (stale) {
      const root = await deps.refreshTrustedRoot().catch(() => undefined);
      if (root?.source === "tuf-refresh") {
        changes.push({
          kind: "refreshed-trusted-root",
          subject: "sigstore public-good",
          message: "refreshed the Sigstore trusted root through TUF",
        });
      }
    }
  }
  const mode = await authMode(layout.authFile);
  if (authPermissionFinding(layout.authFile, mode)) {
    await Deno.chmod(layout.authFile, 0o600);
    changes.push({
      kind: "chmod-auth",
      subject: layout.authFile,
      message: `set ${layout.authFile} to mode 0600`,
    });
  }
  return changes;
}

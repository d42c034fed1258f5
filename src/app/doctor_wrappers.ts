/**
 * Doctor's view of bin/: which entries are dz wrappers or links and whose, which are stale, missing, orphaned or
 * half-written, and what the current versions' wrappers should say.
 */
import { join } from "node:path";
import { readDirSortedOrEmpty, readRegularFileText } from "../file_ops.ts";
import type { Host } from "../runtime.ts";
import { linkOwner, readLinkAt } from "../shim/link.ts";
import type { ShimPlan } from "../shim/plan.ts";
import { isDzWrapper, readWrapperMeta, renderWrapper } from "../shim/wrapper.ts";
import { readFileHead } from "../shim/write.ts";
import type { StoreLayout } from "../store/layout.ts";
import type { PackageMetadata } from "../store/metadata.ts";
import { rootfsProblem } from "../store/package_state.ts";
import { listPackages } from "../store/packages.ts";
import { artifactLinks } from "./artifact.ts";
import type { Finding } from "./doctor_findings.ts";
import { planForVersion } from "./install.ts";

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

/** Parses "os/arch[/variant]" (metadata `platform`) into a Host. Pure. */
export function hostFromPlatform(platform: string, fallback: Host): Host {
  const [os, arch, variant] = platform.split("/");
  if (!os || !arch) return fallback;
  return { os, arch, ...(variant ? { variant } : {}) };
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

/** Severity and fixability of the bin/ findings of one entry, by kind: findings of a kind never disagree. */
const BIN_FINDING = {
  "stale-wrapper": { severity: "warning", fixable: true },
  "orphan-wrapper": { severity: "warning", fixable: true },
  "bin-leftover": { severity: "warning", fixable: true },
  "foreign-file": { severity: "info", fixable: false },
} as const;

function binFinding(kind: keyof typeof BIN_FINDING, path: string, message: string): Finding {
  // Field order as in every finding: `--json` output stays byte-for-byte the same.
  return {
    kind,
    severity: BIN_FINDING[kind].severity,
    subject: path,
    path,
    message,
    fixable: BIN_FINDING[kind].fixable,
  };
}

/** What {@linkcode inspectWrappers} found, and what `fix` does about it. */
export interface WrapperState {
  findings: Finding[];
  /** For fixes: wrapper name → text to write. */
  toWrite: Map<string, { text: string; package: string } | { link: string; package: string }>;
  /** For fixes: orphan dz wrapper names. */
  orphans: string[];
  /** For fixes: bin leftovers (full paths). */
  leftovers: string[];
}

/**
 * Compares bin/ with what the installed packages should have there: missing, stale, orphan and half-written
 * wrappers and links, foreign files (left alone), and what `fix` should write or remove.
 */
export async function inspectWrappers(layout: StoreLayout, host: Host): Promise<WrapperState> {
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
    (await readDirSortedOrEmpty(layout.packages)).filter((e) => e.isDirectory && !e.name.startsWith(".")).map(
      (e) => e.name,
    ),
  );
  const seen = new Set<string>();
  for (const entry of await readDirSortedOrEmpty(layout.bin)) {
    const path = join(layout.bin, entry.name);
    const linkedTo = await readLinkAt(path);
    const linkPackage = linkedTo === null ? null : linkOwner(layout.packages, linkedTo);
    if (linkPackage !== null) {
      seen.add(entry.name);
      const want = links.get(entry.name);
      if (want !== undefined && expected.get(entry.name) === linkPackage) {
        if (linkedTo !== want) {
          state.toWrite.set(entry.name, { link: want, package: linkPackage });
          state.findings.push(
            binFinding(
              "stale-wrapper",
              path,
              `link ${path} points at ${linkedTo}, not the current version of "${linkPackage}"`,
            ),
          );
        }
      } else if (!(packageDirs.has(linkPackage) && !expectedPackages(expected).has(linkPackage))) {
        state.orphans.push(entry.name);
        state.findings.push(
          binFinding(
            "orphan-wrapper",
            path,
            `dz link ${path} belongs to "${linkPackage}", which does not provide it (not installed)`,
          ),
        );
      }
      continue;
    }
    const head = await readFileHead(path);
    const cls = classifyBinEntry(entry.name, head, expected, packageDirs);
    seen.add(entry.name);
    switch (cls.kind) {
      case "foreign":
        state.findings.push(binFinding("foreign-file", path, `${path} is not managed by dz (left alone)`));
        break;
      case "leftover":
        state.leftovers.push(path);
        state.findings.push(
          binFinding("bin-leftover", path, `half-written wrapper ${path} left by an interrupted dz`),
        );
        break;
      case "orphan":
        state.orphans.push(entry.name);
        state.findings.push(
          binFinding(
            "orphan-wrapper",
            path,
            cls.package === null
              ? `dz wrapper ${path} names no package`
              : `dz wrapper ${path} belongs to "${cls.package}", which does not provide it (not installed)`,
          ),
        );
        break;
      case "damaged-package":
        break; // the store findings for the package cover it; fixing the package makes it owned again
      case "owned": {
        const link = links.get(entry.name);
        if (link !== undefined) {
          // A wrapper where the current (artifact) version wants its link.
          state.toWrite.set(entry.name, { link, package: cls.package });
          state.findings.push(
            binFinding(
              "stale-wrapper",
              path,
              `${path} is a wrapper, but the current version of "${cls.package}" is linked directly`,
            ),
          );
          break;
        }
        const want = texts.get(entry.name);
        if (want === undefined) break; // unplannable: reported above
        const have = await readRegularFileText(path);
        if (have !== want) {
          state.toWrite.set(entry.name, { text: want, package: cls.package });
          state.findings.push(
            binFinding(
              "stale-wrapper",
              path,
              `wrapper ${path} differs from what dz generates for the current version of "${cls.package}"`,
            ),
          );
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

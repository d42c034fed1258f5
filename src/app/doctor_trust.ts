/**
 * Doctor's trust checks: whether the Sigstore public-good trusted root in use is good enough for the signatures
 * dz relies on, and when it stops being so. The root embedded in dz is fine offline for as long as its keys cover
 * the installed packages' signatures; only a root that misses a signature, or a TUF copy left to age, is a
 * warning. `inspectTrust` and `refreshStaleTrustedRoot` are the I/O edge around those pure rules.
 */
import type { Config } from "../store/config.ts";
import type { PackageMetadata } from "../store/metadata.ts";
import { listPackages } from "../store/packages.ts";
import { type LoadedTrustedRoot, loadTrustedRoot } from "../verify/trusted_root.ts";
import type { Change, DoctorDeps, Finding } from "./doctor_findings.ts";

/** A cached (TUF) trusted root older than this earns a warning. */
export const TRUSTED_ROOT_WARN_AGE_SECONDS = 7 * 24 * 60 * 60;

const SUBJECT = "sigstore public-good";

interface KeyWindow {
  readonly kind: "transparency log" | "certificate authority";
  readonly start: number;
  readonly end: number | null;
}

/** The validity windows (ms since the epoch) of a trusted root's Rekor keys and Fulcio CAs. Pure. */
export function keyWindows(root: unknown): KeyWindow[] {
  const doc = (root ?? {}) as {
    tlogs?: { publicKey?: { validFor?: { start?: string; end?: string } } }[];
    certificateAuthorities?: { validFor?: { start?: string; end?: string } }[];
  };
  const window = (kind: KeyWindow["kind"], v: { start?: string; end?: string } | undefined): KeyWindow[] => {
    const start = v?.start ? Date.parse(v.start) : NaN;
    if (Number.isNaN(start)) return [];
    const end = v?.end ? Date.parse(v.end) : NaN;
    return [{ kind, start, end: Number.isNaN(end) ? null : end }];
  };
  return [
    ...(doc.tlogs ?? []).flatMap((t) => window("transparency log", t.publicKey?.validFor)),
    ...(doc.certificateAuthorities ?? []).flatMap((c) => window("certificate authority", c.validFor)),
  ];
}

/** True when a keyless signature made at `timeMs` is covered: a Rekor key and a Fulcio CA valid then. Pure. */
export function coversTime(windows: readonly KeyWindow[], timeMs: number): boolean {
  const valid = (w: KeyWindow) => w.start <= timeMs && (w.end === null || timeMs <= w.end);
  return windows.some((w) => w.kind === "transparency log" && valid(w)) &&
    windows.some((w) => w.kind === "certificate authority" && valid(w));
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * The trusted-root finding for the public-good root in use, or null when it is fine and not worth a line. Pure.
 *
 * - embedded: an info finding while it covers every signature in `signed` (saying until when, if a key it holds
 *   expires); a fixable warning naming the packages whose signatures it does not cover.
 * - TUF copy: a fixable warning when older than {@linkcode TRUSTED_ROOT_WARN_AGE_SECONDS}.
 */
export function trustedRootFinding(
  root: Pick<LoadedTrustedRoot, "source" | "ageSeconds"> & { trustedRoot?: unknown },
  options: { now: Date; signed?: readonly { name: string; timeMs: number }[] } = { now: new Date() },
): Finding | null {
  if (root.source === "embedded") {
    const windows = keyWindows(root.trustedRoot);
    const signed = options.signed ?? [];
    const uncovered = signed.filter((s) => !coversTime(windows, s.timeMs));
    if (uncovered.length > 0) {
      return {
        kind: "trusted-root",
        severity: "warning",
        subject: SUBJECT,
        message: `the trusted root embedded in dz has no key for the signatures of ` +
          `${uncovered.map((s) => `${s.name} (signed ${day(s.timeMs)})`).join(", ")}; ` +
          `dz doctor --fix (online) refreshes it`,
        fixable: true,
      };
    }
    const now = options.now.getTime();
    const newest = Math.max(...windows.map((w) => w.start), 0);
    const expiring = windows.filter((w) => w.end !== null && w.end > now && w.start <= now)
      .sort((a, b) => a.end! - b.end!)[0];
    const until = expiring
      ? `it becomes an error on ${day(expiring.end!)}, when its ${expiring.kind} key expires`
      : "none of its keys expires, so it goes out of date only when Sigstore rotates keys";
    return {
      kind: "trusted-root",
      severity: "info",
      subject: SUBJECT,
      message: `using the trusted root embedded in dz (newest key from ${day(newest)}); it covers ` +
        (signed.length > 0
          ? `the signatures of all ${signed.length} installed package(s) verified with it`
          : "current signatures") +
        `; ${until}; an online dz doctor --fix, install or verify refreshes it`,
      fixable: false,
    };
  }
  const age = root.ageSeconds ?? 0;
  if (age > TRUSTED_ROOT_WARN_AGE_SECONDS) {
    return {
      kind: "trusted-root",
      severity: "warning",
      subject: SUBJECT,
      message: `the cached trusted root is ${Math.floor(age / 86400)} days old; ` +
        `dz doctor --fix (or any online install or verify) refreshes it`,
      fixable: true,
    };
  }
  return null;
}

/** True when at least one registry verifies keyless against the public-good Sigstore instance. Pure. */
export function usesPublicGoodRoot(config: Pick<Config, "registries">): boolean {
  return config.registries.some((r) =>
    r.cosign_policy !== undefined && r.cosign_policy.trusted_root === undefined &&
    r.cosign_policy.public_key === undefined
  );
}

/** The installed packages verified keyless against the public-good root, with their signing time. Pure. */
export function publicGoodSignatures(
  config: Pick<Config, "registries">,
  packages: readonly PackageMetadata[],
): { name: string; timeMs: number }[] {
  const publicGood = new Set(
    config.registries.filter((r) => usesPublicGoodRoot({ registries: [r] })).map((r) => r.name),
  );
  return packages.flatMap((p) => {
    const t = p.signature?.integrated_time;
    return publicGood.has(p.registry.name) && p.signature?.issuer && typeof t === "number"
      ? [{ name: p.name, timeMs: t * 1000 }]
      : [];
  });
}

/**
 * The trusted-root findings for `config`: the public-good root's coverage and age, and every registry's
 * `trusted_root` override that cannot be loaded. Offline: it never refreshes anything.
 */
export async function inspectTrust(
  deps: Pick<DoctorDeps, "layout" | "now" | "loadTrustedRoot">,
  config: Config | undefined,
): Promise<Finding[]> {
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
        subject: SUBJECT,
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

/**
 * `dz doctor --fix`'s trusted-root repair: when dz may go online (`deps.refreshTrustedRoot`) and the public-good
 * root in use is embedded-only or stale, refreshes it through TUF. The change made, or null (nothing to do, or
 * TUF unreachable: the finding then stays).
 */
export async function refreshStaleTrustedRoot(
  deps: Pick<DoctorDeps, "layout" | "now" | "loadTrustedRoot" | "refreshTrustedRoot">,
  config: Config | undefined,
): Promise<Change | null> {
  if (!deps.refreshTrustedRoot) return null;
  // Online, an embedded-only root is refreshed even while it is still good enough (an info finding).
  const load = deps.loadTrustedRoot ?? loadTrustedRoot;
  const root = config && usesPublicGoodRoot(config)
    ? await load({ cacheDir: deps.layout.cache, now: deps.now, offline: true }).catch(() => undefined)
    : undefined;
  const stale = root !== undefined &&
    (root.source === "embedded" || trustedRootFinding(root, { now: deps.now })?.fixable === true);
  if (!stale) return null;
  const refreshed = await deps.refreshTrustedRoot().catch(() => undefined);
  if (refreshed?.source !== "tuf-refresh") return null;
  return {
    kind: "refreshed-trusted-root",
    subject: SUBJECT,
    message: "refreshed the Sigstore trusted root through TUF",
  };
}

/**
 * Image reference grammar and resolution against configured registries. Pure.
 *
 * Forms accepted:
 *   jq, jq:1.7, jq@sha256:…, jq:1.7@sha256:…             short name → default registry
 *   chainguard/jq:1.7, corp/tools/nested/x                registry-qualified (first segment = configured name)
 *   ghcr.io/owner/repo:tag, localhost:5000/x, [::1]:5000/x host-qualified
 * A host-qualified reference that falls under a configured registry's URL (longest prefix) resolves to that
 * registry and therefore to its policy. The Go tool treated every such reference as an unsigned ad-hoc registry,
 * which let `docker.io/chainguard/jq` bypass the Chainguard policy.
 */
import { DropzoneError } from "../errors.ts";
import { type Digest, isDigest } from "./digest.ts";
import { isLoopbackHost, normalizeRegistryHost, sameRegistryHost } from "./registry_host.ts";

export { isLoopbackHost };

/**
 * A registry as configured (see store/config.ts). The policy type is a parameter so this pure layer does not know
 * the trust types above it: store/config.ts instantiates it as `ConfiguredRegistry` (with verify's CosignPolicy).
 */
export interface RegistryEntry<Policy = unknown> {
  readonly name: string;
  readonly url: string;
  readonly insecure?: boolean;
  readonly cosign_policy?: Policy;
  /** Skip digests signed more recently than this (e.g. "3d"); overrides the top-level setting. */
  readonly min_release_age?: string;
  /** Locations (`host[/namespace]`) that must serve the same digest before an unsigned install (no policy). */
  readonly cross_check?: readonly string[];
}

/** The lexical parts of a reference, before any registry lookup. */
export interface ParsedReference {
  /** Canonical host when the reference names one ("docker.io", "localhost:5000", "[::1]:5000"). */
  readonly host?: string;
  /** Path segments after the host (or the whole path when no host). */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: Digest;
}

/** A reference resolved to a registry, repository and tag/digest; `policy` is the matched entry's. */
export interface ResolvedReference<Policy = unknown> {
  readonly input: string;
  /** Configured registry name, or the host for a registry that is not configured. */
  readonly registryName: string;
  /** The configured registry URL (host plus namespace prefix), or the host. */
  readonly registryUrl: string;
  /** True when no configured registry matched (no policy; needs --allow-unsigned). */
  readonly adHoc: boolean;
  readonly policy?: Policy;
  readonly insecure: boolean;
  /** Canonical registry host ("docker.io", "ghcr.io", "127.0.0.1:5000"). */
  readonly host: string;
  /** Repository on the host ("chainguard/jq", "library/alpine"). */
  readonly repository: string;
  /** Repository path below the registry URL ("jq" for docker.io/chainguard/jq). */
  readonly image: string;
  /** Tag; "latest" when neither tag nor digest was given. Undefined for a digest-only reference. */
  readonly tag?: string;
  readonly digest?: Digest;
  /** Default package name: the last path segment. */
  readonly packageName: string;
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;
const PACKAGE_NAME = /^[a-z0-9][a-z0-9._-]*$/;
const REGISTRY_NAME = /^[a-z0-9][a-z0-9_-]*$/;

function invalid(input: string, why: string, hint?: string): DropzoneError {
  return new DropzoneError("INVALID_REFERENCE", `Cannot parse reference "${input}": ${why}`, {
    hint: hint ?? `Use a form like "jq", "jq:1.7", "chainguard/jq@sha256:<hex>" or "ghcr.io/owner/repo:tag"`,
  });
}

/**
 * The address spelling of a host: Docker Hub aliases as "docker.io", lower case, default port dropped (see
 * oci/registry_host.ts; compare hosts with `sameRegistryHost`, which also folds loopback spellings).
 */
export function canonicalHost(host: string): string {
  return normalizeRegistryHost(host);
}

/** True when a first path segment names a host rather than a repository component. */
function looksLikeHost(segment: string): boolean {
  return segment.includes(".") || segment.includes(":") || segment.startsWith("[") || segment === "localhost";
}

/** Lexical parse of a reference. Throws INVALID_REFERENCE with a hint. */
export function parseReference(input: string): ParsedReference {
  const text = input.trim();
  if (text === "") throw invalid(input, "it is empty");
  if (/\s/.test(text)) throw invalid(input, "it contains whitespace");
  let rest = text;
  let digest: Digest | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) {
      throw invalid(input, `"${d}" is not a sha256 digest`, "Digests look like sha256:<64 hex>");
    }
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const lastColon = rest.lastIndexOf(":");
  if (lastColon > lastSlash && !(lastSlash < 0 && rest.startsWith("["))) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) throw invalid(input, `"${tag}" is not a valid tag`);
  }
  const segments = rest.split("/");
  let host: string | undefined;
  if (segments.length > 1 && looksLikeHost(segments[0]!)) {
    const h = segments.shift()!;
    if (!HOST.test(h)) throw invalid(input, `"${h}" is not a valid registry host`);
    host = canonicalHost(h);
  }
  if (segments.length === 0 || segments.some((s) => s === "")) {
    throw invalid(input, "it has an empty path segment");
  }
  for (const s of segments) {
    if (!PATH_COMPONENT.test(s)) {
      throw invalid(
        input,
        `"${s}" is not a valid repository name component (lowercase letters, digits, . _ -)`,
      );
    }
  }
  const path = segments.join("/");
  if (path.length > 255) throw invalid(input, "the repository path is longer than 255 characters");
  return { ...(host ? { host } : {}), path, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** Splits a registry URL ("docker.io/chainguard", "https://ghcr.io/org/") into host and namespace prefix. */
export function splitRegistryUrl(url: string): { host: string; prefix: string } {
  const scheme = /^(https?):\/\//i.exec(url.trim())?.[1]?.toLowerCase();
  const stripped = url.trim().replace(/^[a-z]+:\/\//i, "").replace(/\/+$/, "");
  const slash = stripped.indexOf("/");
  const host = normalizeRegistryHost(slash < 0 ? stripped : stripped.slice(0, slash), {
    ...(scheme ? { scheme: `${scheme}:` as "http:" | "https:" } : {}),
  });
  const prefix = slash < 0 ? "" : stripped.slice(slash + 1);
  return { host, prefix };
}

/** Docker Hub puts single-segment names under library/. */
function normaliseRepository(host: string, repository: string): string {
  return host === "docker.io" && !repository.includes("/") ? `library/${repository}` : repository;
}

/** Options for {@linkcode resolveReference}. */
export interface ResolveOptions<Policy> {
  readonly registries: readonly RegistryEntry<Policy>[];
  readonly defaultRegistry?: string | undefined;
}

function resolved<Policy>(
  input: string,
  entry: RegistryEntry<Policy> | undefined,
  host: string,
  repository: string,
  image: string,
  parsed: ParsedReference,
): ResolvedReference<Policy> {
  const tag = parsed.tag ?? (parsed.digest ? undefined : "latest");
  return {
    input,
    registryName: entry ? entry.name : host,
    registryUrl: entry ? entry.url : host,
    adHoc: entry === undefined,
    ...(entry?.cosign_policy ? { policy: entry.cosign_policy } : {}),
    insecure: entry?.insecure === true,
    host,
    repository,
    image,
    ...(tag ? { tag } : {}),
    ...(parsed.digest ? { digest: parsed.digest } : {}),
    packageName: repository.slice(repository.lastIndexOf("/") + 1),
  };
}

/** Resolves a reference against the configured registries. */
export function resolveReference<Policy>(
  input: string,
  options: ResolveOptions<Policy>,
): ResolvedReference<Policy> {
  const parsed = parseReference(input);
  const { registries, defaultRegistry } = options;
  if (parsed.host) {
    // Longest configured URL prefix wins, so a policy always applies when the user spells out its host, under
    // any spelling of it (Docker Hub aliases, default ports, loopback names: see registry_host.ts).
    let best: { entry: RegistryEntry<Policy>; prefix: string; host: string } | undefined;
    for (const entry of registries) {
      const { host, prefix } = splitRegistryUrl(entry.url);
      if (!sameRegistryHost(host, parsed.host)) continue;
      const matches = prefix === "" || parsed.path === prefix || parsed.path.startsWith(prefix + "/");
      if (matches && parsed.path !== prefix && (!best || prefix.length > best.prefix.length)) {
        best = { entry, prefix, host };
      }
    }
    const repository = normaliseRepository(parsed.host, parsed.path);
    if (best) {
      // The configured spelling is the one dz connects to and records, whatever alias the user typed.
      const image = best.prefix === "" ? parsed.path : parsed.path.slice(best.prefix.length + 1);
      return resolved(input, best.entry, best.host, repository, image, parsed);
    }
    return resolved(input, undefined, parsed.host, repository, parsed.path, parsed);
  }
  const slash = parsed.path.indexOf("/");
  let entry: RegistryEntry<Policy> | undefined;
  let image = parsed.path;
  if (slash >= 0) {
    const head = parsed.path.slice(0, slash);
    entry = registries.find((r) => r.name === head);
    if (!entry) {
      throw new DropzoneError(
        "REGISTRY_NOT_FOUND",
        `Cannot resolve "${input}": no registry named "${head}"`,
        {
          hint: `Add it with "dz add registry ${head} <url>", or use a host-qualified reference like ` +
            `"ghcr.io/${parsed.path}"`,
        },
      );
    }
    image = parsed.path.slice(slash + 1);
  } else {
    if (!defaultRegistry) {
      throw new DropzoneError("REGISTRY_NOT_FOUND", `Cannot resolve "${input}": no default registry is set`, {
        hint:
          `Qualify the name ("<registry>/${parsed.path}") or set one with "dz add registry <name> <url> --default"`,
      });
    }
    entry = registries.find((r) => r.name === defaultRegistry);
    if (!entry) {
      throw new DropzoneError(
        "REGISTRY_NOT_FOUND",
        `Cannot resolve "${input}": the default registry "${defaultRegistry}" is not configured`,
        { hint: `Run "dz list registries" and set another default with "dz add registry … --default"` },
      );
    }
  }
  const { host, prefix } = splitRegistryUrl(entry.url);
  const repository = normaliseRepository(host, prefix ? `${prefix}/${image}` : image);
  return resolved(input, entry, host, repository, image, parsed);
}

/** Validates a package name (`[a-z0-9][a-z0-9._-]*`, at most 64 characters). */
export function validatePackageName(name: string): string {
  if (!PACKAGE_NAME.test(name) || name.length > 64 || name === "." || name === "..") {
    throw new DropzoneError("INVALID_NAME", `Invalid package name "${name}"`, {
      hint: "Use lowercase letters, digits, '.', '_' and '-', starting with a letter or digit (see --name)",
    });
  }
  return name;
}

/** Validates a registry name (no "/", ".", ":"; so it can never be confused with a host). */
export function validateRegistryName(name: string): string {
  if (!REGISTRY_NAME.test(name) || name.length > 64) {
    throw new DropzoneError("INVALID_NAME", `Invalid registry name "${name}"`, {
      hint:
        "Use lowercase letters, digits, '_' and '-' only; '/', '.' and ':' would make it look like a host",
    });
  }
  return name;
}

/** Validates a registry URL: a host with an optional namespace path, no scheme other than https:// stripped. */
export function validateRegistryUrl(url: string): string {
  const trimmed = url.trim();
  if (/^http:\/\//i.test(trimmed)) {
    throw new DropzoneError("INVALID_ARGUMENT", `Registry URL "${url}" must not use http://`, {
      hint:
        "Give the host without a scheme; use --insecure for a plain-HTTP registry that is not on loopback",
    });
  }
  const { host, prefix } = splitRegistryUrl(trimmed);
  if (!HOST.test(host) || (prefix !== "" && prefix.split("/").some((s) => !PATH_COMPONENT.test(s)))) {
    throw new DropzoneError("INVALID_ARGUMENT", `Invalid registry URL "${url}"`, {
      hint: 'Use a host with an optional namespace, e.g. "ghcr.io/my-org" or "localhost:5000"',
    });
  }
  return prefix ? `${host}/${prefix}` : host;
}

/** Formats a resolved reference for display: host/repository[:tag][@digest]. */
export function formatReference(
  ref: Pick<ResolvedReference, "host" | "repository" | "tag" | "digest">,
): string {
  return `${ref.host}/${ref.repository}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

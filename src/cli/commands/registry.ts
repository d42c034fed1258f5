/** `dz add registry`, `dz remove registry`, `dz list registries`. */
import { resolve } from "node:path";
import { DropzoneError } from "../../errors.ts";
import { validateRegistryName, validateRegistryUrl } from "../../oci/reference.ts";
import {
  addRegistryToDoc,
  CHAINGUARD_POLICY,
  type ConfiguredRegistry,
  removeRegistryFromDoc,
  replaceRegistryInDoc,
  revalidate,
  saveConfig,
  setDefaultRegistryInDoc,
} from "../../store/config.ts";
import type { CosignPolicy, ProofKind } from "../../verify/types.ts";
import type { CliContext } from "../context.ts";
import { json, plural, table } from "../render.ts";
import { type CosignSpellings, withCosignSpellings } from "../flags.ts";
import { pemFingerprint, recheckSigners } from "../../app/registry_policy.ts";
import { installedPackages, withStoreLock } from "./shared.ts";

/** Issuers pre-filled by --template. */
export const TEMPLATES: Readonly<Record<string, CosignPolicy>> = {
  github: { issuer: "https://token.actions.githubusercontent.com" },
  gitlab: { issuer: "https://gitlab.com" },
  google: { issuer: "https://accounts.google.com" },
  chainguard: { ...CHAINGUARD_POLICY },
};

/** Options of `dz add registry`. */
export interface AddRegistryOptions extends CosignSpellings {
  template?: string;
  issuer?: string;
  issuerRegex?: string;
  identity?: string;
  identityRegex?: string;
  publicKey?: string;
  trustedRoot?: string;
  insecure?: boolean;
  default?: boolean;
  /** Change an existing registry's url, insecure flag and policy in place. */
  replace?: boolean;
  /** "signature", "provenance" or "signature,provenance" (cosign_policy.accept). */
  accept?: string;
}

/** Parses `--accept signature,provenance`. Pure; throws INVALID_ARGUMENT. */
export function parseAccept(value: string): ProofKind[] {
  const kinds = value.split(",").map((v) => v.trim()).filter(Boolean);
  if (
    kinds.length === 0 || kinds.some((k) => k !== "signature" && k !== "provenance") ||
    new Set(kinds).size !== kinds.length
  ) {
    throw new DropzoneError("INVALID_ARGUMENT", `Invalid --accept "${value}"`, {
      hint: 'Use "signature", "provenance" or "signature,provenance"',
    });
  }
  return kinds as ProofKind[];
}

/** Warnings for identity/issuer regexes that accept far more than intended. Pure. */
export function lintPolicyRegex(field: string, re: string): string[] {
  const warnings: string[] = [];
  const body = re.replace(/^\^/, "").replace(/\$$/, "");
  if (/^(\.\*|\.\+)$/.test(body)) warnings.push(`${field} "${re}" accepts any value`);
  // An unescaped "." before a letter or digit is almost always a literal dot in a host or file name.
  if (/(^|[^\\])\.(?=[A-Za-z0-9])/.test(body)) {
    warnings.push(
      `${field} "${re}" has unescaped dots ("." matches any character); write "\\." for a literal dot`,
    );
  }
  return warnings;
}

/** A flag for `key` (exact or `_regex`) replaces both of the template's forms of it. */
function matchFlags(
  policy: CosignPolicy,
  key: "issuer" | "identity",
  exact: string | undefined,
  regex: string | undefined,
): void {
  if (exact) {
    policy[key] = exact;
    delete policy[`${key}_regex`];
  }
  if (regex) {
    policy[`${key}_regex`] = regex;
    delete policy[key];
  }
}

/** Builds the policy from template and flags. Pure; throws INVALID_ARGUMENT on an incomplete policy. */
export function buildPolicy(opts: AddRegistryOptions, cwd: string): CosignPolicy | undefined {
  const base: CosignPolicy = opts.template ? { ...TEMPLATES[opts.template] } : {};
  matchFlags(base, "issuer", opts.issuer, opts.issuerRegex);
  matchFlags(base, "identity", opts.identity, opts.identityRegex);
  if (opts.identity && opts.identityRegex) {
    throw new DropzoneError("INVALID_ARGUMENT", "Give either --identity or --identity-regex, not both", {
      hint: "--identity matches the certificate SAN exactly; --identity-regex matches it as a whole",
    });
  }
  if (opts.publicKey) base.public_key = resolve(cwd, opts.publicKey);
  if (opts.trustedRoot) base.trusted_root = resolve(cwd, opts.trustedRoot);
  if (opts.accept !== undefined) base.accept = parseAccept(opts.accept);
  const hasIssuer = !!(base.issuer || base.issuer_regex);
  const hasIdentity = !!(base.identity || base.identity_regex);
  if (!base.public_key && !hasIssuer && !hasIdentity) {
    if (base.trusted_root) {
      throw new DropzoneError("INVALID_ARGUMENT", "--trusted-root needs an identity policy or --public-key", {
        hint: "Add --issuer and --identity (or --identity-regex), or --public-key",
      });
    }
    return undefined;
  }
  if (!base.public_key && (!hasIssuer || !hasIdentity)) {
    throw new DropzoneError(
      "INVALID_ARGUMENT",
      hasIssuer
        ? "The policy names an issuer but no signer identity"
        : "The policy names a signer identity but no issuer",
      {
        hint: hasIssuer
          ? "Add --identity <SAN> (exact) or --identity-regex <RE> (anchored); e.g. " +
            "https://github.com/<org>/<repo>/.github/workflows/<file>@refs/heads/main"
          : "Add --issuer <URL> or --template github|gitlab|google",
      },
    );
  }
  for (const k of ["issuer_regex", "identity_regex"] as const) {
    const re = base[k];
    if (re === undefined) continue;
    try {
      new RegExp(re);
    } catch (err) {
      throw new DropzoneError(
        "INVALID_ARGUMENT",
        `--${k.replace("_", "-")} "${re}" is not a valid regular expression`,
        {
          hint: "Use JavaScript regular expression syntax; it is matched against the whole value",
          cause: err,
        },
      );
    }
  }
  return base;
}

/** Checks that a policy file given on the command line can be read (and, for a key, is a PEM key). */
export async function checkReadable(path: string, what: string): Promise<void> {
  try {
    const text = await Deno.readTextFile(path);
    if (what === "public key" && !text.includes("-----BEGIN PUBLIC KEY-----")) {
      throw new DropzoneError("INVALID_ARGUMENT", `${path} is not a PEM public key`, {
        hint: "Pass the cosign.pub file written by `cosign generate-key-pair`",
      });
    }
    if (what === "trusted root") JSON.parse(text);
  } catch (err) {
    if (err instanceof DropzoneError) throw err;
    throw new DropzoneError("INVALID_ARGUMENT", `Cannot read the ${what} ${path}`, {
      hint: `Check the path; the ${what} is read at every verification`,
      cause: err,
    });
  }
}

/** dz add registry (with --replace: change an existing registry's policy in place) */
export async function addRegistry(
  ctx: CliContext,
  name: string,
  url: string,
  flags: AddRegistryOptions,
): Promise<void> {
  const opts = withCosignSpellings(flags);
  validateRegistryName(name);
  const normalisedUrl = validateRegistryUrl(url);
  const policy = buildPolicy(opts, ctx.cwd());
  if (policy?.public_key) await checkReadable(policy.public_key, "public key");
  if (policy?.trusted_root) await checkReadable(policy.trusted_root, "trusted root");
  const entry: ConfiguredRegistry = {
    name,
    url: normalisedUrl,
    ...(opts.insecure ? { insecure: true } : {}),
    ...(policy ? { cosign_policy: policy } : {}),
  };
  const previous = await withStoreLock(ctx, async () => {
    const loaded = await ctx.editableConfig();
    const existing = loaded.config.registries.find((r) => r.name === name);
    if (existing && !opts.replace) {
      throw new DropzoneError("REGISTRY_EXISTS", `Registry "${name}" already exists`, {
        hint: `Pass --replace to change its policy in place, or pick another name`,
      });
    }
    if (!existing && opts.replace) {
      throw new DropzoneError("REGISTRY_NOT_FOUND", `No registry named "${name}" to replace`, {
        hint: `Run "dz list registries" to see the configured names, or drop --replace to add it`,
      });
    }
    if (existing) replaceRegistryInDoc(loaded.doc, entry);
    else addRegistryToDoc(loaded.doc, entry);
    if (opts.default) setDefaultRegistryInDoc(loaded.doc, name);
    revalidate(loaded.doc, loaded.path);
    await saveConfig(loaded);
    return existing;
  });
  for (const k of ["issuer_regex", "identity_regex"] as const) {
    const re = policy?.[k];
    if (re) { for (const w of lintPolicyRegex(k, re)) ctx.log.warn(w); }
  }
  const what = policy
    ? policy.public_key
      ? "key-based policy"
      : `keyless policy (issuer ${policy.issuer ?? policy.issuer_regex})`
    : "no policy: installs need --allow-unsigned";
  const accepts = policy?.accept ? `; accepts ${policy.accept.join(" or ")} as proof of origin` : "";
  if (previous) {
    ctx.log.info(`Replaced registry "${name}" → ${normalisedUrl} (${what}${accepts})`);
    if (previous.url !== normalisedUrl) ctx.log.info(`  its URL changed from ${previous.url}`);
    await reportSignerMismatches(ctx, name, policy);
  } else ctx.log.info(`Added registry "${name}" → ${normalisedUrl} (${what}${accepts})`);
  if (opts.default) ctx.log.info(`"${name}" is now the default registry`);
}

/** After a policy change: lists the installed packages whose recorded signer the new policy rejects. */
async function reportSignerMismatches(ctx: CliContext, name: string, policy: CosignPolicy | undefined) {
  const packages = (await installedPackages(ctx)).filter((p) => p.registry.name === name);
  if (packages.length === 0) return;
  const keyFingerprint = policy?.public_key
    ? pemFingerprint(await Deno.readTextFile(policy.public_key))
    : undefined;
  const mismatches = recheckSigners(packages, name, policy, keyFingerprint ? { keyFingerprint } : {});
  if (mismatches.length === 0) {
    ctx.log.info(
      policy
        ? `  ${plural(packages.length, "installed package")} from "${name}" still match the policy`
        : `  "${name}" has no policy now: updating its packages needs --allow-unsigned`,
    );
    return;
  }
  ctx.log.warn(
    `${plural(mismatches.length, "installed package")} from "${name}" no longer match its policy:\n` +
      mismatches.map((m) => `  ${m.name}: recorded ${m.recorded}; ${m.reason}`).join("\n"),
  );
  ctx.log.info(
    `  Updates of ${mismatches.map((m) => m.name).join(", ")} will be refused until they match; ` +
      `"dz verify NAME" re-checks one now`,
  );
}

/** dz remove registry */
export async function removeRegistry(
  ctx: CliContext,
  name: string,
  opts: { force?: boolean },
): Promise<void> {
  await withStoreLock(ctx, async () => {
    const loaded = await ctx.editableConfig();
    if (!loaded.config.registries.some((r) => r.name === name)) {
      throw new DropzoneError("REGISTRY_NOT_FOUND", `No registry named "${name}"`, {
        hint: `Run "dz list registries" to see the configured names`,
      });
    }
    const users = (await installedPackages(ctx)).filter((p) => p.registry.name === name).map((p) => p.name);
    if (users.length > 0 && !opts.force) {
      throw new DropzoneError(
        "REGISTRY_IN_USE",
        `Cannot remove registry "${name}": packages are installed from it (${users.join(", ")})`,
        { hint: `Remove them first, or pass --force (they then cannot be updated)` },
      );
    }
    const wasDefault = loaded.config.default_registry === name;
    removeRegistryFromDoc(loaded.doc, name);
    revalidate(loaded.doc, loaded.path);
    await saveConfig(loaded);
    ctx.log.info(`Removed registry "${name}"`);
    if (wasDefault) {
      ctx.log.info(
        `It was the default registry; set another with "dz add registry … --default" to use short names`,
      );
    }
  });
}

function policySummary(entry: ConfiguredRegistry): string {
  const p = entry.cosign_policy;
  if (!p) return "none";
  if (p.public_key) return `key ${p.public_key}`;
  const id = p.identity ? p.identity : `/${p.identity_regex}/`;
  const accept = p.accept ?? ["signature"];
  return accept.length === 1 && accept[0] === "signature" ? id : `${id} (accepts ${accept.join(", ")})`;
}

/** dz list registries */
export async function listRegistries(ctx: CliContext, opts: { json?: boolean }): Promise<void> {
  const { config } = await ctx.config();
  if (opts.json) {
    ctx.out(json(config.registries.map((r) => ({
      name: r.name,
      url: r.url,
      default: r.name === config.default_registry,
      insecure: r.insecure === true,
      cosign_policy: r.cosign_policy ?? null,
    }))));
    return;
  }
  if (config.registries.length === 0) {
    ctx.log.info('No registries configured. Add one with "dz add registry <name> <url>".');
    return;
  }
  ctx.out(table(
    ["NAME", "URL", "DEFAULT", "ISSUER", "IDENTITY"],
    config.registries.map((r) => [
      r.name,
      r.url + (r.insecure ? " (insecure)" : ""),
      r.name === config.default_registry ? "*" : "",
      r.cosign_policy?.issuer ?? (r.cosign_policy?.issuer_regex ? `/${r.cosign_policy.issuer_regex}/` : "-"),
      policySummary(r),
    ]),
    { width: ctx.terminalWidth(), shrink: [4, 3, 1] },
  ));
}

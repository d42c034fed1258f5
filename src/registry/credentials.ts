/**
 * Registry credentials in Docker's config.json format: parsing and key normalisation (pure), lookup across
 * dz's own auth.json, Docker's config (with credential helpers) and the containers auth file, and atomic
 * 0600 writes of dz's auth.json.
 *
 * Unlike the Go predecessor, keys are normalised on both sides (scheme, trailing slash and `/v1/` stripped;
 * every Docker Hub alias is "docker.io"), and namespace-scoped keys (`registry.example/team`) match by the
 * longest path-segment prefix.
 */
import { DropzoneError } from "../errors.ts";
import { canonicalRegistryHost, normalizeRegistryHost } from "./hosts.ts";
import type { Credential, CredentialLookup } from "./types.ts";
import { writeJsonAtomic } from "../fs.ts";
import { fromBase64Text, toBase64 } from "../encoding.ts";

/** A parsed config.json / auth.json. */
export interface AuthConfig {
  /** Normalised key → credential; entries without usable credentials (credsStore placeholders) are dropped. */
  readonly auths: ReadonlyMap<string, Credential>;
  readonly credsStore?: string;
  /** Normalised host → helper name. */
  readonly credHelpers: ReadonlyMap<string, string>;
}

/**
 * Normalises a config key or a user-typed registry: `https://index.docker.io/v1/` → `docker.io`,
 * `HTTPS://Ghcr.io/` → `ghcr.io`, `registry.example/Team/` → `registry.example/Team`.
 */
export function normalizeRegistryKey(key: string): string {
  let k = key.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  k = k.replace(/\/+$/, "").replace(/\/v[12]$/, "").replace(/\/+$/, "");
  const slash = k.indexOf("/");
  const host = slash < 0 ? k : k.slice(0, slash);
  const path = slash < 0 ? "" : k.slice(slash);
  return normalizeRegistryHost(host) + path;
}

/** A normalised key with its host as an identity key, so `localhost:5000` and `127.0.0.1:5000` match. */
function identityKey(normalizedKey: string): string {
  const slash = normalizedKey.indexOf("/");
  const host = slash < 0 ? normalizedKey : normalizedKey.slice(0, slash);
  return canonicalRegistryHost(host) + (slash < 0 ? "" : normalizedKey.slice(slash));
}

function entryCredential(entry: unknown): Credential | undefined {
  if (typeof entry !== "object" || entry === null) return undefined;
  const e = entry as Record<string, unknown>;
  if (typeof e.identitytoken === "string" && e.identitytoken) return { identitytoken: e.identitytoken };
  if (typeof e.auth === "string" && e.auth) {
    let decoded: string;
    try {
      decoded = fromBase64Text(e.auth);
    } catch {
      return undefined;
    }
    const colon = decoded.indexOf(":");
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    return undefined;
  }
  if (typeof e.username === "string" && typeof e.password === "string" && e.username) {
    return { username: e.username, password: e.password };
  }
  return undefined;
}

/** Parses config.json text. Throws CREDENTIALS naming `source` when it is not a JSON object. */
export function parseAuthConfig(text: string, source = "auth file"): AuthConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // No cause: JSON.parse messages quote the text, which holds secrets.
    throw new DropzoneError("CREDENTIALS", `Cannot read credentials from ${source}: not valid JSON`, {
      hint: `Fix or remove ${source}`,
    });
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new DropzoneError("CREDENTIALS", `Cannot read credentials from ${source}: not a JSON object`, {
      hint: `Fix or remove ${source}`,
    });
  }
  const d = doc as Record<string, unknown>;
  const auths = new Map<string, Credential>();
  if (typeof d.auths === "object" && d.auths !== null) {
    for (const [key, entry] of Object.entries(d.auths)) {
      const credential = entryCredential(entry);
      if (credential && !auths.has(normalizeRegistryKey(key))) {
        auths.set(normalizeRegistryKey(key), credential);
      }
    }
  }
  const credHelpers = new Map<string, string>();
  if (typeof d.credHelpers === "object" && d.credHelpers !== null) {
    for (const [key, helper] of Object.entries(d.credHelpers)) {
      if (typeof helper === "string" && helper) credHelpers.set(normalizeRegistryKey(key), helper);
    }
  }
  return {
    auths,
    credHelpers,
    ...(typeof d.credsStore === "string" && d.credsStore ? { credsStore: d.credsStore } : {}),
  };
}

/**
 * The entry for `host` (and optionally `repository`): an exact host key, or the longest key that is a
 * path-segment prefix of `host/repository`.
 */
export function selectCredential(
  auths: ReadonlyMap<string, Credential>,
  host: string,
  repository?: string,
): Credential | undefined {
  const target = identityKey(normalizeRegistryKey(repository ? `${host}/${repository}` : host));
  let best: { key: string; credential: Credential } | undefined;
  for (const [stored, credential] of auths) {
    const key = identityKey(stored);
    if (target === key || target.startsWith(key + "/")) {
      if (!best || key.length > best.key.length) best = { key, credential };
    }
  }
  return best?.credential;
}

/** Runs `docker-credential-<helper> get`; resolves undefined when the helper is missing or has nothing. */
export type CredentialHelperRunner = (helper: string, serverUrl: string) => Promise<Credential | undefined>;

/** The real helper runner: `docker-credential-<name> get` with the server URL on stdin. */
export async function runCredentialHelper(
  helper: string,
  serverUrl: string,
): Promise<Credential | undefined> {
  if (!/^[A-Za-z0-9_.-]+$/.test(helper)) return undefined;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(`docker-credential-${helper}`, {
      args: ["get"],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(serverUrl));
  await writer.close();
  const out = await child.output();
  if (!out.success) return undefined;
  try {
    const doc = JSON.parse(new TextDecoder().decode(out.stdout)) as Record<string, unknown>;
    const username = typeof doc.Username === "string" ? doc.Username : "";
    const secret = typeof doc.Secret === "string" ? doc.Secret : "";
    if (!secret) return undefined;
    return username === "<token>" ? { identitytoken: secret } : { username, password: secret };
  } catch {
    return undefined;
  }
}

/** Options for {@linkcode createCredentialLookup}. */
export interface CredentialLookupOptions {
  /** dz's own auth.json (written by `dz login`). */
  authFile: string;
  env: (name: string) => string | undefined;
  homeDir: string;
  /** @default {runCredentialHelper} */
  runHelper?: CredentialHelperRunner;
}

async function readConfig(path: string): Promise<AuthConfig | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied) return undefined;
    throw err;
  }
  return parseAuthConfig(text, `"${path}"`);
}

/** The server URL a credential helper knows a host by (Docker Hub's is historic). */
function helperServerUrl(host: string): string {
  return host === "docker.io" ? "https://index.docker.io/v1/" : host;
}

/**
 * Looks credentials up in order: dz's auth.json → Docker's config (`$DOCKER_CONFIG/config.json` or
 * `~/.docker/config.json`: credHelpers for the host, then auths, then credsStore) → `$REGISTRY_AUTH_FILE` or
 * `$XDG_RUNTIME_DIR/containers/auth.json`. Files are read on each call (they are small).
 */
export function createCredentialLookup(options: CredentialLookupOptions): CredentialLookup {
  const { authFile, env, homeDir, runHelper = runCredentialHelper } = options;
  const dockerDir = env("DOCKER_CONFIG") ?? `${homeDir}/.docker`;
  const containersFile = env("REGISTRY_AUTH_FILE") ??
    (env("XDG_RUNTIME_DIR") ? `${env("XDG_RUNTIME_DIR")}/containers/auth.json` : undefined);
  return async (host, repository) => {
    const canonical = normalizeRegistryKey(host);
    const own = await readConfig(authFile);
    const fromOwn = own && selectCredential(own.auths, canonical, repository);
    if (fromOwn) return fromOwn;
    const docker = await readConfig(`${dockerDir}/config.json`);
    if (docker) {
      const helper = docker.credHelpers.get(canonical) ??
        [...docker.credHelpers].find(([key]) => identityKey(key) === identityKey(canonical))?.[1];
      if (helper) {
        const c = await runHelper(helper, helperServerUrl(canonical));
        if (c) return c;
      }
      const fromDocker = selectCredential(docker.auths, canonical, repository);
      if (fromDocker) return fromDocker;
      if (docker.credsStore) {
        const c = await runHelper(docker.credsStore, helperServerUrl(canonical));
        if (c) return c;
      }
    }
    if (containersFile) {
      const containers = await readConfig(containersFile);
      const c = containers && selectCredential(containers.auths, canonical, repository);
      if (c) return c;
    }
    return undefined;
  };
}

/** Result of a write to auth.json. */
export interface SaveResult {
  /** True when the file existed with permissions wider than 0600 (it is 0600 now); warn the user. */
  readonly wasPermissive: boolean;
}

async function readRaw(authFile: string): Promise<{ doc: Record<string, unknown>; wasPermissive: boolean }> {
  let text: string;
  let wasPermissive = false;
  try {
    const info = await Deno.stat(authFile);
    wasPermissive = info.mode !== null && (info.mode & 0o077) !== 0;
    text = await Deno.readTextFile(authFile);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { doc: {}, wasPermissive: false };
    throw err;
  }
  parseAuthConfig(text, `"${authFile}"`); // validates
  return { doc: JSON.parse(text) as Record<string, unknown>, wasPermissive };
}

async function writeAtomic(authFile: string, doc: Record<string, unknown>): Promise<void> {
  const dir = authFile.slice(0, Math.max(0, authFile.lastIndexOf("/"))) || ".";
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  // Secrets: the temp file is created 0600 (never readable by others, not even before the chmod).
  await writeJsonAtomic(authFile, doc, { mode: 0o600, temp: { prefix: ".auth.json.", suffix: ".tmp" } });
}

function withoutHost(auths: unknown, key: string): { rest: Record<string, unknown>; removed: boolean } {
  const rest: Record<string, unknown> = {};
  let removed = false;
  if (typeof auths === "object" && auths !== null) {
    for (const [k, v] of Object.entries(auths)) {
      if (identityKey(normalizeRegistryKey(k)) === identityKey(key)) removed = true;
      else rest[k] = v;
    }
  }
  return { rest, removed };
}

/** Stores a username/password for `host` (any alias of it is replaced), atomically, mode 0600. */
export async function saveCredential(
  authFile: string,
  host: string,
  username: string,
  password: string,
): Promise<SaveResult> {
  const key = normalizeRegistryKey(host);
  const { doc, wasPermissive } = await readRaw(authFile);
  const { rest } = withoutHost(doc.auths, key);
  rest[key] = { auth: toBase64(`${username}:${password}`) };
  await writeAtomic(authFile, { ...doc, auths: rest });
  return { wasPermissive };
}

/** Removes every entry for `host` (and its aliases); false when there was none. */
export async function removeCredential(authFile: string, host: string): Promise<boolean> {
  const key = normalizeRegistryKey(host);
  const { doc } = await readRaw(authFile);
  const { rest, removed } = withoutHost(doc.auths, key);
  if (removed) await writeAtomic(authFile, { ...doc, auths: rest });
  return removed;
}

/**
 * Authentication as a wrapper around the transport: answers a registry's 401 challenge (Docker token or Basic),
 * remembering per host which scheme it asked for and per host and scope the tokens it issued.
 */
import { DropzoneError } from "../errors.ts";
import { basicAuthorization, type Challenge, parseChallenge, requestToken, type Token } from "./auth.ts";
import { apiHost, canonicalRegistryHost, schemeFor } from "./hosts.ts";
import type { Transport } from "./transport.ts";
import type { Credential, CredentialLookup } from "./types.ts";

/** A request to a registry's API, before authentication. */
export interface AuthedRequest {
  registry: string;
  /** Path and query below the API origin, e.g. `/v2/x/manifests/1`. */
  path: string;
  method?: string;
  headers?: Record<string, string>;
  /** Token scope, e.g. `repository:x:pull`; none for the ping. */
  scope?: string;
  repository?: string;
  /** Use this credential instead of the lookup (and cache no token for it): `dz login` checks one this way. */
  credential?: Credential;
  signal?: AbortSignal | undefined;
}

/** A transport that authenticates: what the resource modules (manifests, blobs, lists, referrers) send through. */
export interface AuthedTransport {
  /** Sends a request, answering a 401 challenge once (fetching a token or adding Basic credentials). */
  send(req: AuthedRequest): Promise<Response>;
  /** The API origin used for a registry, e.g. `https://registry-1.docker.io`. */
  originFor(registry: string): string;
}

/** Where credentials come from and how hosts are reached; see {@linkcode withAuth}. */
export interface AuthOptions {
  /** See credentials.ts `createCredentialLookup`. */
  credentials: CredentialLookup;
  /** Hosts to reach over plain http (loopback hosts always are). */
  isInsecure?: ((host: string) => boolean) | undefined;
  /** Clock for token expiry. @default {Date.now} */
  now?: (() => number | Date) | undefined;
}

type AuthMode =
  | { readonly scheme: "none" }
  | { readonly scheme: "basic" }
  | { readonly scheme: "bearer"; readonly realm: string; readonly service?: string };

function modeFrom(challenges: Challenge[]): AuthMode | undefined {
  const bearer = challenges.find((c) => c.scheme === "bearer" && c.params.realm);
  if (bearer) {
    return {
      scheme: "bearer",
      realm: bearer.params.realm!,
      ...(bearer.params.service === undefined ? {} : { service: bearer.params.service }),
    };
  }
  return challenges.some((c) => c.scheme === "basic") ? { scheme: "basic" } : undefined;
}

/** Wraps `transport` with registry authentication and its own scheme, token and credential-lookup caches. */
export function withAuth(transport: Transport, options: AuthOptions): AuthedTransport {
  const { credentials, isInsecure, now = Date.now } = options;
  const modes = new Map<string, AuthMode>();
  const tokens = new Map<string, Token>();
  const lookups = new Map<string, Promise<Credential | undefined>>();
  const nowMs = () => Number(now());

  function originFor(registry: string): string {
    const host = apiHost(registry);
    return `${schemeFor(host, isInsecure)}//${host}`;
  }

  function credentialFor(registry: string, repository?: string): Promise<Credential | undefined> {
    const key = `${canonicalRegistryHost(registry)} ${repository ?? ""}`;
    let p = lookups.get(key);
    if (!p) lookups.set(key, p = credentials(registry, repository));
    return p;
  }

  async function authorization(
    mode: AuthMode,
    req: AuthedRequest,
    fresh: boolean,
    challengeScope?: string,
  ): Promise<string | undefined> {
    if (mode.scheme === "none") return undefined;
    const credential = req.credential ?? await credentialFor(req.registry, req.repository);
    if (mode.scheme === "basic") {
      if (!credential) return undefined;
      if ("identitytoken" in credential) return `Bearer ${credential.identitytoken}`;
      return basicAuthorization(credential.username, credential.password);
    }
    const scope = req.scope ?? challengeScope;
    const key = `${canonicalRegistryHost(req.registry)} ${scope ?? ""}`;
    const cacheable = req.credential === undefined;
    const cached = cacheable ? tokens.get(key) : undefined;
    if (cached && !fresh && cached.expiresAt > nowMs()) return `Bearer ${cached.token}`;
    const token = await requestToken(transport, {
      registry: req.registry,
      realm: mode.realm,
      ...(mode.service === undefined ? {} : { service: mode.service }),
      scopes: scope ? [scope] : [],
      ...(credential ? { credential } : {}),
      now: nowMs(),
      registryOrigin: originFor(req.registry),
      ...(req.signal ? { signal: req.signal } : {}),
    });
    if (cacheable) tokens.set(key, token);
    return `Bearer ${token.token}`;
  }

  async function send(req: AuthedRequest): Promise<Response> {
    const url = new URL(originFor(req.registry) + req.path);
    const base = {
      registry: req.registry,
      method: req.method ?? "GET",
      ...(req.signal ? { signal: req.signal } : {}),
    };
    const known = modes.get(canonicalRegistryHost(req.registry));
    const headers = new Headers(req.headers);
    const first = known ? await authorization(known, req, false) : undefined;
    if (first) headers.set("Authorization", first);
    const res = await transport.send(url, { ...base, headers });
    if (res.status !== 401) return res;
    const challenges = parseChallenge(res.headers.get("www-authenticate") ?? "");
    const mode = modeFrom(challenges);
    if (!mode) return res;
    await res.body?.cancel();
    modes.set(canonicalRegistryHost(req.registry), mode);
    const challengeScope = challenges.find((c) => c.scheme === "bearer")?.params.scope;
    const second = await authorization(mode, req, true, challengeScope);
    if (!second) {
      throw new DropzoneError(
        "REGISTRY_AUTH",
        `Registry "${req.registry}" requires authentication and dz has no credentials for it`,
        { hint: `Run "dz login ${req.registry}"` },
      );
    }
    headers.set("Authorization", second);
    return await transport.send(url, { ...base, headers });
  }

  return { send, originFor };
}

/**
 * Registry authentication: `WWW-Authenticate` challenge parsing (pure) and the Docker token exchange
 * (https://distribution.github.io/distribution/spec/auth/token/).
 */
import { DropzoneError } from "../errors.ts";
import type { Credential } from "./types.ts";
import type { Transport } from "./transport.ts";
import { parseJsonBody, readCapped, redactUrl } from "./registry_error.ts";
import { isLoopbackHost } from "./hosts.ts";
import { toBase64 } from "../encoding.ts";

/** One challenge of a `WWW-Authenticate` header. `scheme` and parameter names are lower-cased. */
export interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * Parses a `WWW-Authenticate` header into its challenges (RFC 9110 §11.6.1). Quoted values may contain commas,
 * spaces and backslash escapes; several challenges may share one header.
 */
export function parseChallenge(header: string): Challenge[] {
  const out: { scheme: string; params: Record<string, string> }[] = [];
  const n = header.length;
  let i = 0;
  const skipWs = () => {
    while (i < n && (header[i] === " " || header[i] === "\t")) i++;
  };
  const readToken = () => {
    const start = i;
    while (i < n && TOKEN_CHAR.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  let current: { scheme: string; params: Record<string, string> } | undefined;
  while (i < n) {
    skipWs();
    if (header[i] === ",") {
      i++;
      continue;
    }
    const token = readToken();
    if (token === "") {
      i++; // skip a stray character
      continue;
    }
    skipWs();
    if (header[i] === "=" && current) {
      i++;
      skipWs();
      let value = "";
      if (header[i] === '"') {
        i++;
        while (i < n && header[i] !== '"') {
          if (header[i] === "\\" && i + 1 < n) i++;
          value += header[i];
          i++;
        }
        i++; // closing quote
      } else {
        const start = i;
        while (i < n && header[i] !== "," && header[i] !== " " && header[i] !== "\t") i++;
        value = header.slice(start, i);
      }
      current.params[token.toLowerCase()] = value;
    } else if (header[i] === "=") {
      while (i < n && header[i] !== ",") i++; // token68 without a scheme: ignore
    } else {
      current = { scheme: token.toLowerCase(), params: {} };
      out.push(current);
    }
  }
  return out;
}

/** A bearer token and the time (ms since epoch) it stops being reused. */
export interface Token {
  readonly token: string;
  readonly expiresAt: number;
}

/** Options for {@linkcode requestToken}. */
export interface TokenRequest {
  readonly registry: string;
  readonly realm: string;
  readonly service?: string;
  readonly scopes: readonly string[];
  readonly credential?: Credential;
  readonly now: number;
  readonly signal?: AbortSignal;
  /**
   * The registry's API origin (`https://ghcr.io`). A realm outside it must not lead from a public registry
   * into private address space, the same rule as for redirects.
   */
  readonly registryOrigin?: string;
}

const DEFAULT_TOKEN_SECONDS = 60;
const MAX_TOKEN_BYTES = 64 * 1024;

/**
 * Exchanges credentials (or nothing, for anonymous pulls) for a bearer token at the challenge's realm.
 * Username/password go to the realm as Basic auth (GET); an identity token is a refresh token (POST).
 */
export async function requestToken(transport: Transport, request: TokenRequest): Promise<Token> {
  const { registry, realm, service, scopes, credential, now, signal, registryOrigin } = request;
  let url: URL;
  try {
    url = new URL(realm);
  } catch (cause) {
    throw new DropzoneError("REGISTRY_PROTOCOL", `Registry "${registry}" sent an invalid token realm`, {
      hint: "Report this to the registry operator",
      cause,
    });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new DropzoneError(
      "REGISTRY_PROTOCOL",
      `Registry "${registry}" sent an unsupported token realm scheme`,
    );
  }
  // Credentials travel to a realm over https only; plain http is fine for a realm on this machine.
  if (credential && url.protocol === "http:" && !isLoopbackHost(url.host)) {
    throw new DropzoneError(
      "REGISTRY_AUTH",
      `Registry "${registry}" asks for credentials over plain http (${redactUrl(url)}); refused`,
      { hint: "Report this to the registry operator; dz sends credentials over https only" },
    );
  }
  if (registryOrigin !== undefined && url.origin !== registryOrigin) {
    const registryHost = new URL(registryOrigin).host;
    if (!(await transport.isPrivateHost(registryHost)) && await transport.isPrivateHost(url.host)) {
      throw new DropzoneError(
        "REGISTRY_PROTOCOL",
        `Registry "${registry}" sent a token realm in private address space (${redactUrl(url)}); refused`,
        { hint: "A public registry may not direct dz into the local network; report this to its operator" },
      );
    }
  }
  const headers = new Headers();
  let method = "GET";
  let body: string | undefined;
  if (credential && "identitytoken" in credential) {
    method = "POST";
    const form = new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: credential.identitytoken,
    });
    form.set("client_id", "dz");
    if (service) form.set("service", service);
    if (scopes.length) form.set("scope", scopes.join(" "));
    body = form.toString();
    headers.set("Content-Type", "application/x-www-form-urlencoded");
  } else {
    if (service) url.searchParams.set("service", service);
    for (const scope of scopes) url.searchParams.append("scope", scope);
    if (credential) {
      headers.set("Authorization", basicAuthorization(credential.username, credential.password));
    }
  }
  const res = await transport.send(url, {
    registry,
    method,
    headers,
    ...(body === undefined ? {} : { body }),
    ...(signal ? { signal } : {}),
  });
  if (res.status === 401 || res.status === 403) {
    await res.body?.cancel();
    throw new DropzoneError(
      "REGISTRY_AUTH",
      `Cannot authenticate to registry "${registry}": token service refused the ${
        credential ? "credentials" : "anonymous request"
      } (${res.status})`,
      { hint: credential ? `Run "dz login ${registry}" again` : `Run "dz login ${registry}"` },
    );
  }
  const bytes = await readCapped(res, MAX_TOKEN_BYTES, registry);
  if (res.status !== 200) {
    throw new DropzoneError(
      "REGISTRY_AUTH",
      `Cannot authenticate to registry "${registry}": token service ${redactUrl(url)} answered ${res.status}`,
      { hint: "Try again later, or check the registry status" },
    );
  }
  const doc = parseJsonBody(
    bytes,
    `Registry "${registry}" token service returned a response that is not JSON`,
  );
  const record = typeof doc === "object" && doc !== null ? doc as Record<string, unknown> : {};
  const token = typeof record.token === "string" && record.token
    ? record.token
    : typeof record.access_token === "string"
    ? record.access_token
    : "";
  if (!token) {
    throw new DropzoneError("REGISTRY_PROTOCOL", `Registry "${registry}" token service returned no token`, {
      hint: "Report this to the registry operator",
    });
  }
  const seconds = typeof record.expires_in === "number" && record.expires_in > 0
    ? record.expires_in
    : DEFAULT_TOKEN_SECONDS;
  // Renew a little early so a token does not expire between the check and the request.
  return { token, expiresAt: now + Math.max(1, seconds - 5) * 1000 };
}

/** `Basic base64(user:pass)` with UTF-8 encoding. */
export function basicAuthorization(username: string, password: string): string {
  return `Basic ${toBase64(`${username}:${password}`)}`;
}

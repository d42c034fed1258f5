/**
 * Registry host names on the HTTP side: API host mapping, scheme choice, and the private-address check that
 * resolves names (the pure identity and address classes live in oci/registry_host.ts).
 */
import { isDockerHub, isIpLiteral, isLoopbackHost, isPrivateAddress } from "../oci/registry_host.ts";

export {
  canonicalRegistryHost,
  DOCKER_HUB,
  hostName,
  isDockerHub,
  isLoopbackHost,
  isPrivateAddress,
  normalizeRegistryHost,
  sameRegistryHost,
} from "../oci/registry_host.ts";

/**
 * The host that serves the Distribution API for a registry name: Docker Hub's API lives on
 * registry-1.docker.io. Repositories are passed through untouched: callers normalise `alpine` to
 * `library/alpine` (the reference parser does) before asking the client.
 */
export function apiHost(registry: string): string {
  return isDockerHub(registry) ? "registry-1.docker.io" : registry.toLowerCase();
}

/** `https:` except plain `http:` for loopback hosts and hosts the user marked insecure. */
export function schemeFor(host: string, isInsecure?: (host: string) => boolean): "http:" | "https:" {
  return isLoopbackHost(host) || (isInsecure?.(host) ?? false) ? "http:" : "https:";
}

/** Resolves a name to its addresses (A and AAAA); injectable so tests need no DNS. */
export type HostResolver = (name: string) => Promise<readonly string[]>;

const RESOLVE_TIMEOUT_MS = 5_000;

/** The real resolver: `Deno.resolveDns` A and AAAA; a name that does not resolve has no addresses. */
export async function resolveWithDns(name: string): Promise<readonly string[]> {
  const lookup = (type: "A" | "AAAA") =>
    Deno.resolveDns(name, type, { signal: AbortSignal.timeout(RESOLVE_TIMEOUT_MS) }).catch(() =>
      [] as string[]
    );
  const [a, aaaa] = await Promise.all([lookup("A"), lookup("AAAA")]);
  return [...a, ...aaaa];
}

/**
 * True when `host` is a private address literal, or a name any of whose addresses is private (a public
 * registry must not steer dz, or dz's credentials, into the local network by naming `metadata.internal` or a
 * rebinding name). A name that does not resolve is not private here: the request then fails on its own.
 */
export async function resolvesPrivate(
  host: string,
  resolve: HostResolver = resolveWithDns,
): Promise<boolean> {
  if (isPrivateAddress(host)) return true;
  if (isIpLiteral(host)) return false;
  const name = new URL(`http://${host}/`).hostname;
  const addresses = await resolve(name);
  return addresses.some((address) => isPrivateAddress(address.includes(":") ? `[${address}]` : address));
}

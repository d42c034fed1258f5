/** Registry host names: API host mapping, scheme choice and address classes (pure). */

/** The canonical name of Docker Hub, as references and credentials use it. */
export const DOCKER_HUB = "docker.io";

const DOCKER_HUB_ALIASES = new Set([
  "docker.io",
  "index.docker.io",
  "registry-1.docker.io",
  "registry.hub.docker.com",
]);

/** True for any of Docker Hub's host names. */
export function isDockerHub(host: string): boolean {
  return DOCKER_HUB_ALIASES.has(host.toLowerCase());
}

/**
 * The host that serves the Distribution API for a canonical registry name: Docker Hub's API lives on
 * registry-1.docker.io. Repositories are passed through untouched: callers normalise `alpine` to
 * `library/alpine` (the reference parser does) before asking the client.
 */
export function apiHost(registry: string): string {
  return isDockerHub(registry) ? "registry-1.docker.io" : registry.toLowerCase();
}

/** Splits `host[:port]` / `[v6]:port` into the bare host name (brackets removed). */
export function hostName(host: string): string {
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    return end < 0 ? host : host.slice(1, end);
  }
  const colon = host.lastIndexOf(":");
  return colon >= 0 && host.indexOf(":") === colon ? host.slice(0, colon) : host;
}

function ipv4(name: string): number[] | undefined {
  const parts = name.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.map(Number);
}

/** True for `localhost`, `*.localhost`, 127.0.0.0/8 and ::1 (with or without a port). */
export function isLoopbackHost(host: string): boolean {
  const name = hostName(host).toLowerCase();
  if (name === "localhost" || name.endsWith(".localhost") || name === "::1") return true;
  return ipv4(name)?.[0] === 127;
}

/** True for loopback, RFC 1918, link-local and unique-local address literals (redirect SSRF guard). */
export function isPrivateAddress(host: string): boolean {
  if (isLoopbackHost(host)) return true;
  const name = hostName(host).toLowerCase();
  const v4 = ipv4(name);
  if (v4) {
    const [a, b] = v4 as [number, number];
    return a === 10 || a === 0 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) ||
      (a === 169 && b === 254);
  }
  return name.includes(":") && (/^f[cd]/.test(name) || name.startsWith("fe80:"));
}

/** `https:` except plain `http:` for loopback hosts and hosts the user marked insecure. */
export function schemeFor(host: string, isInsecure?: (host: string) => boolean): "http:" | "https:" {
  return isLoopbackHost(host) || (isInsecure?.(host) ?? false) ? "http:" : "https:";
}

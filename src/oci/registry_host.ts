/** Registry host identity and address classes: one canonical spelling per registry, so no alias escapes a policy (pure). */

/** The canonical name of Docker Hub, as references, policies and credentials use it. */
export const DOCKER_HUB = "docker.io";

const DOCKER_HUB_ALIASES: ReadonlySet<string> = new Set([
  "docker.io",
  "index.docker.io",
  "registry-1.docker.io",
  "registry.hub.docker.com",
]);

/** The spelling every loopback alias (`localhost`, `127.0.0.1`, `[::1]`) shares in identity keys. */
const LOOPBACK_KEY = "localhost";
const LOOPBACK_NAMES: ReadonlySet<string> = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** A host split into its normalised name (IPv6 in brackets) and port ("" when absent or the default). */
interface HostParts {
  readonly name: string;
  readonly port: string;
}

/** Splits `host[:port]` / `[v6]:port` into the bare host name (brackets removed) and ignores the port. */
export function hostName(host: string): string {
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    return end < 0 ? host : host.slice(1, end);
  }
  const colon = host.lastIndexOf(":");
  return colon >= 0 && host.indexOf(":") === colon ? host.slice(0, colon) : host;
}

/**
 * Normalises the host part of a registry address. WHATWG URL parsing does the heavy lifting: case, IPv6
 * compression (`[0:0::1]` → `[::1]`, `[::ffff:127.0.0.1]` → `[::ffff:7f00:1]`) and IPv4 number forms
 * (`0x7f.1` → `127.0.0.1`). The port is dropped when it is the default of the scheme dz would use.
 */
function parts(input: string, scheme?: "http:" | "https:"): HostParts {
  let text = input.trim();
  const schemeMatch = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  if (schemeMatch) {
    const given = schemeMatch[1]!.toLowerCase();
    if (scheme === undefined && (given === "http" || given === "https")) scheme = `${given}:`;
    text = text.slice(schemeMatch[0].length);
  }
  const slash = text.indexOf("/");
  if (slash >= 0) text = text.slice(0, slash);
  let name = text;
  let port = "";
  const portMatch = /^(\[[^\]]*\]|[^:]*):(\d*)$/.exec(text);
  if (portMatch) {
    name = portMatch[1]!;
    port = portMatch[2]!;
  }
  name = normaliseName(name.toLowerCase().replace(/\.$/, ""));
  if (port !== "") port = String(Number(port));
  const effective = scheme ?? (isLoopbackName(name) ? "http:" : "https:");
  if ((effective === "https:" && port === "443") || (effective === "http:" && port === "80")) port = "";
  return { name, port };
}

function normaliseName(name: string): string {
  if (name === "") return name;
  try {
    return new URL(`http://${name}/`).hostname;
  } catch {
    return name; // not a valid host: left as typed (lower-cased); the reference parser rejects it
  }
}

function join({ name, port }: HostParts): string {
  return port === "" ? name : `${name}:${port}`;
}

/**
 * The address spelling of a registry host: lower case, scheme and path dropped, the default port dropped,
 * Docker Hub's aliases as `docker.io`, IP literals normalised. Loopback spellings are kept apart (`localhost`
 * may resolve to ::1 only), so this is the host dz connects to; compare hosts with {@linkcode sameRegistryHost}.
 */
export function normalizeRegistryHost(host: string, options: { scheme?: "http:" | "https:" } = {}): string {
  const p = parts(host, options.scheme);
  if (DOCKER_HUB_ALIASES.has(p.name) && p.port === "") return DOCKER_HUB;
  return join(p);
}

/**
 * The identity key of a registry host: {@linkcode normalizeRegistryHost} with every loopback spelling
 * (`localhost`, `127.0.0.1`, `[::1]`) folded into one. Two spellings name the same registry exactly when their
 * keys are equal. The key is for comparing and indexing only; connect to the configured spelling.
 */
export function canonicalRegistryHost(host: string, options: { scheme?: "http:" | "https:" } = {}): string {
  const p = parts(host, options.scheme);
  if (DOCKER_HUB_ALIASES.has(p.name) && p.port === "") return DOCKER_HUB;
  return join(LOOPBACK_NAMES.has(p.name) ? { name: LOOPBACK_KEY, port: p.port } : p);
}

/** True when two host spellings (`registry.hub.docker.com` / `docker.io`, `localhost:5000` / `127.0.0.1:5000`) name one registry. */
export function sameRegistryHost(a: string, b: string): boolean {
  return canonicalRegistryHost(a) === canonicalRegistryHost(b);
}

/** True for any of Docker Hub's host names. */
export function isDockerHub(host: string): boolean {
  return canonicalRegistryHost(host) === DOCKER_HUB;
}

/** Parses a dotted-quad IPv4 literal. */
export function parseIpv4(name: string): [number, number, number, number] | undefined {
  const p = name.split(".");
  if (p.length !== 4 || p.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255)) return undefined;
  return p.map(Number) as [number, number, number, number];
}

/** Parses an IPv6 literal (brackets optional, embedded IPv4 allowed) into its eight 16-bit groups. */
export function parseIpv6(text: string): number[] | undefined {
  let name = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (!name.includes(":")) return undefined;
  const zone = name.indexOf("%");
  if (zone >= 0) name = name.slice(0, zone);
  const lastColon = name.lastIndexOf(":");
  const dotted = name.slice(lastColon + 1);
  if (dotted.includes(".")) {
    const v4 = parseIpv4(dotted);
    if (!v4) return undefined;
    const hex = (n: number) => n.toString(16);
    name = `${name.slice(0, lastColon + 1)}${hex((v4[0] << 8) | v4[1])}:${hex((v4[2] << 8) | v4[3])}`;
  }
  const halves = name.split("::");
  if (halves.length > 2) return undefined;
  const group = (s: string) => (s === "" ? [] : s.split(":"));
  const head = group(halves[0]!);
  const rest = halves.length === 2 ? group(halves[1]!) : [];
  if ([...head, ...rest].some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  const explicit = head.length + rest.length;
  if (halves.length === 1 ? explicit !== 8 : explicit > 7) return undefined;
  const zeros = new Array<number>(8 - explicit).fill(0);
  return [...head.map((g) => parseInt(g, 16)), ...zeros, ...rest.map((g) => parseInt(g, 16))];
}

function isLoopbackName(name: string): boolean {
  if (name === "localhost" || name.endsWith(".localhost")) return true;
  const v4 = parseIpv4(name);
  if (v4) return v4[0] === 127;
  const v6 = parseIpv6(name);
  return v6 !== undefined && v6.slice(0, 7).every((g) => g === 0) && v6[7] === 1;
}

/** True for `localhost`, `*.localhost`, 127.0.0.0/8 and ::1 (with or without a port). */
export function isLoopbackHost(host: string): boolean {
  return isLoopbackName(parts(host).name);
}

function isPrivateV4([a, b]: readonly number[]): boolean {
  return a === 0 || a === 10 || a === 127 || (a === 100 && b! >= 64 && b! <= 127) ||
    (a === 169 && b === 254) || (a === 172 && b! >= 16 && b! <= 31) || (a === 192 && b === 168) ||
    (a === 192 && b === 0) || (a === 198 && (b === 18 || b === 19)) || a! >= 224;
}

function isPrivateV6(g: readonly number[]): boolean {
  const embedded = (hi: number, lo: number) => [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff];
  if (g.every((x) => x === 0)) return true; // :: (unspecified)
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return true; // ::1
  // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) carry an IPv4 address.
  const mapped = g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0);
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0);
  if (mapped || nat64) return isPrivateV4(embedded(g[6]!, g[7]!));
  if (g[0] === 0x2002) return isPrivateV4(embedded(g[1]!, g[2]!)); // 6to4
  const first = g[0]!;
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xffc0) === 0xfec0 ||
    (first & 0xff00) === 0xff00;
}

/**
 * True for address literals (and `localhost`) outside the public internet: loopback, unspecified (`0.0.0.0`,
 * `[::]`), RFC 1918, CGNAT, link-local (cloud metadata at 169.254.169.254), unique-local, multicast, and IPv6
 * forms that embed one of those IPv4 addresses (`[::ffff:127.0.0.1]`, `[::ffff:7f00:1]`). Names are not
 * resolved here; see `registry/hosts.ts` `resolvesPrivate`.
 */
export function isPrivateAddress(host: string): boolean {
  const { name } = parts(host);
  if (isLoopbackName(name)) return true;
  const v4 = parseIpv4(name);
  if (v4) return isPrivateV4(v4);
  const v6 = parseIpv6(name);
  return v6 !== undefined && isPrivateV6(v6);
}

/** True when `host` is an IP literal (so it needs no DNS lookup to classify). */
export function isIpLiteral(host: string): boolean {
  const { name } = parts(host);
  return parseIpv4(name) !== undefined || parseIpv6(name) !== undefined;
}

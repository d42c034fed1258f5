/** Builds the registry client and trust loader for a command from the context and config. */
import { join } from "node:path";
import { splitRegistryUrl } from "../oci/reference.ts";
import { canonicalRegistryHost } from "../oci/registry_host.ts";
import { fileRefStore, offlineClient, recordingClient } from "../registry/caching_client.ts";
import { openBlobCache } from "../store/blob_cache.ts";
import { createCredentialLookup } from "../registry/credentials.ts";
import { createRegistryClient } from "../registry/client.ts";
import { createMirrorClient, parseHostPath } from "../registry/mirrors.ts";
import { readOnceClient } from "../registry/read_once.ts";
import type { RegistryClient } from "../registry/types.ts";
import type { Config } from "../store/config.ts";
import { loadTrustContext } from "../verify/trusted_root.ts";
import type { TrustContext } from "../verify/verifier.ts";
import type { CosignPolicy } from "../verify/types.ts";
import { USER_AGENT } from "../version.ts";
import type { CliContext } from "./context.ts";
import type { InstallDeps, InstallEvent } from "../app/install.ts";

/**
 * A registry client honouring the config (insecure hosts, concurrency) and every credential source. Everything it
 * reads is recorded in the cache; with `offline` it answers from those records only and never uses the network.
 */
export function createClient(
  ctx: CliContext,
  config: Config,
  options: { offline?: boolean; tagsUpstreamFirst?: boolean } = {},
): RegistryClient {
  const cache = openBlobCache(ctx.layout.blobs);
  const refs = fileRefStore(join(ctx.layout.cache, "refs"));
  if (options.offline || ctx.settings.offline) return offlineClient(cache, refs);
  const insecureHosts = new Set([
    ...config.registries.filter((r) => r.insecure).map((r) =>
      canonicalRegistryHost(splitRegistryUrl(r.url).host)
    ),
    ...config.mirrors.filter((m) => m.insecure).flatMap((m) =>
      m.locations.map((l) => canonicalRegistryHost(parseHostPath(l, "mirror location").host))
    ),
  ]);
  // Mirrors sit below the recording client, so the cache records content under the upstream name.
  const transport = (inner: RegistryClient): RegistryClient =>
    config.mirrors.length === 0 ? inner : createMirrorClient(inner, {
      mirrors: config.mirrors,
      ...(options.tagsUpstreamFirst ? { tagsUpstreamFirst: true } : {}),
      onSkip: (s) => {
        const what = `mirror ${s.location} for ${s.upstream.registry}/${s.upstream.repository}`;
        if (s.reason === "unreachable") {
          ctx.log.warn(`${what} is unreachable, trying the next location: ${s.message}`);
        } else ctx.log.debug(`${what}: not found there, trying the next location`);
      },
    });
  // A read repeated within this command (update's preview, then its install) is answered from memory.
  return readOnceClient(recordingClient(
    transport(createRegistryClient({
      fetch: ctx.runtime.fetch,
      userAgent: USER_AGENT,
      credentials: createCredentialLookup({
        authFile: ctx.layout.authFile,
        env: ctx.runtime.env,
        homeDir: ctx.runtime.homeDir,
      }),
      isInsecure: (host) => insecureHosts.has(canonicalRegistryHost(host)),
      concurrencyPerHost: config.concurrency,
      timeoutMs: ctx.settings.httpTimeoutMs,
    })),
    cache,
    refs,
  ));
}

/** Loads trust material per policy, once per process; offline when DZ_OFFLINE=1 or asked to. */
export function createTrustLoader(
  ctx: CliContext,
  options: { offline?: boolean } = {},
): (policy: CosignPolicy) => Promise<TrustContext> {
  const cache = new Map<string, Promise<TrustContext>>();
  // DZ_NO_TUF keeps dz off the TUF mirror (cached or embedded root only) without making registries offline.
  const offline = options.offline === true || ctx.settings.offline || ctx.settings.noTuf;
  return (policy) => {
    const key = `${policy.trusted_root ?? ""}\u0000${policy.public_key ?? ""}`;
    let loaded = cache.get(key);
    if (!loaded) {
      loaded = loadTrustContext({ policy, cacheDir: ctx.layout.cache, now: ctx.runtime.now(), offline }).then(
        (t) => {
          if (t.root.warning) ctx.log.debug(`trusted root: ${t.root.warning}`);
          ctx.log.debug(`trusted root: ${t.root.source}${t.root.path ? ` (${t.root.path})` : ""}`);
          return t;
        },
      );
      cache.set(key, loaded);
    }
    return loaded;
  };
}

/**
 * What the install pipeline needs for a command that installs from the registry with the default client and
 * trust loader (`dz run`, `dz rollback` to a pruned version).
 */
export function registryInstallDeps(
  ctx: CliContext,
  config: Config,
  onEvent: (event: InstallEvent) => void,
): InstallDeps {
  return {
    layout: ctx.layout,
    config,
    client: createClient(ctx, config),
    host: ctx.runtime.host,
    now: ctx.runtime.now,
    loadTrust: createTrustLoader(ctx),
    ...(ctx.runtime.signal ? { signal: ctx.runtime.signal } : {}),
    onEvent,
  };
}

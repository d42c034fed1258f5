/** `dz tags` and `dz search`. */
import { listTagsSorted, searchCatalog } from "../../app/registry_ops.ts";
import { DropzoneError, isDropzoneError } from "../../errors.ts";
import { type ResolvedReference, resolveReference, splitRegistryUrl } from "../../oci/reference.ts";
import { readCurrent } from "../../store/packages.ts";
import type { CliContext } from "../context.ts";
import { json } from "../render.ts";
import { createClient } from "../services.ts";
import { isDockerHub } from "../../registry/hosts.ts";
import { listHubRepositories } from "../../registry/hub_catalog.ts";
import { USER_AGENT } from "../../version.ts";

/** dz tags */
export async function tags(
  ctx: CliContext,
  image: string,
  opts: { registry?: string; all?: boolean; json?: boolean },
): Promise<void> {
  const { config } = await ctx.config();
  const resolveOpts = { registries: config.registries, defaultRegistry: config.default_registry };
  let repo: { registry: string; repository: string };
  /** The configured registry's name, or null for a host that is not configured. */
  let registryName: string | null;
  let installed = undefined;
  if (!opts.registry && /^[a-z0-9][a-z0-9._-]*$/.test(image)) {
    installed = await readCurrent(ctx.layout, image).catch(() => undefined);
  }
  if (installed) {
    const url = installed.metadata.registry.url;
    repo = { registry: splitRegistryUrl(url).host, repository: installed.metadata.repository };
    registryName = installed.metadata.registry.name;
  } else {
    const ref: ResolvedReference = resolveReference(
      opts.registry ? `${opts.registry}/${image}` : image,
      resolveOpts,
    );
    repo = { registry: ref.host, repository: ref.repository };
    registryName = ref.adHoc ? null : ref.registryName;
  }
  const result = await listTagsSorted(createClient(ctx, config), repo, { all: opts.all === true });
  if (opts.json) {
    ctx.out(json({
      // `registry` is the host (kept as it was); registry_host and registry_name say which is which.
      registry: repo.registry,
      registry_host: repo.registry,
      registry_name: registryName,
      repository: repo.repository,
      tags: result.tags,
      hidden_sidecars: result.hiddenSidecars.length,
    }));
    return;
  }
  if (result.tags.length === 0) ctx.log.info(`No installable tags for ${repo.registry}/${repo.repository}`);
  for (const t of result.tags) ctx.out(t + "\n");
  if (result.hiddenSidecars.length > 0) {
    ctx.log.info(
      `(${result.hiddenSidecars.length} cosign signature/attestation tags hidden; --all shows them)`,
    );
  }
}

/** dz search */
export async function search(
  ctx: CliContext,
  term: string | undefined,
  opts: { registry?: string; json?: boolean; refresh?: boolean },
): Promise<void> {
  const { config } = await ctx.config();
  const name = opts.registry ?? config.default_registry;
  const entry = config.registries.find((r) => r.name === name);
  if (!entry) {
    throw new DropzoneError(
      "REGISTRY_NOT_FOUND",
      name ? `No registry named "${name}"` : "No default registry is set",
      {
        hint: 'Run "dz list registries", or pass --registry <name>',
      },
    );
  }
  const { host, prefix } = splitRegistryUrl(entry.url);
  // Docker Hub has no /v2/_catalog: its web API lists one namespace's repositories.
  const hub = isDockerHub(host);
  if (hub && !prefix) {
    throw new DropzoneError("CATALOG_UNAVAILABLE", `Registry "${entry.name}" is all of Docker Hub`, {
      hint: "Docker Hub can only be searched per namespace: give the registry one, e.g. docker.io/chainguard",
    });
  }
  try {
    const result = await searchCatalog(createClient(ctx, config), {
      ...(hub
        ? {
          listRepositories: (signal?: AbortSignal) =>
            listHubRepositories({
              fetch: ctx.runtime.fetch,
              namespace: prefix!.replace(/\/+$/, ""),
              userAgent: USER_AGENT,
              signal: signal ?? AbortSignal.timeout(ctx.settings.httpTimeoutMs),
              ...(ctx.settings.dockerHubApi ? { baseUrl: ctx.settings.dockerHubApi } : {}),
            }),
        }
        : {}),
      registry: host,
      ...(prefix ? { namespacePrefix: prefix } : {}),
      term: term ?? "",
      cacheDir: `${ctx.layout.cache}/catalog`,
      refresh: opts.refresh === true,
      now: ctx.runtime.now,
    });
    if (opts.json) {
      // `registry` is the configured name (kept as it was); registry_name and registry_host say which is which.
      ctx.out(json({
        registry: entry.name,
        registry_name: entry.name,
        registry_host: host,
        repositories: result.repositories,
        cached: result.fromCache,
      }));
      return;
    }
    if (result.repositories.length === 0) {
      ctx.log.info(term ? `No images match "${term}" in ${entry.name}` : `${entry.name} lists no images`);
    }
    for (const r of result.repositories) ctx.out(r + "\n");
  } catch (err) {
    // Docker Hub's listing errors already say what failed.
    if (!hub && isDropzoneError(err, "CATALOG_UNAVAILABLE")) {
      throw new DropzoneError(
        "CATALOG_UNAVAILABLE",
        `Registry "${entry.name}" (${host}) does not offer a catalog`,
        {
          hint: `GHCR and some other registries have no /v2/_catalog; list an image's tags with ` +
            `"dz tags ${entry.name}/<image>"`,
          cause: err,
        },
      );
    }
    throw err;
  }
}

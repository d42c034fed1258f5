/** `dz login` and `dz logout`. Credentials never reach stdout, logs or errors. */
import { login as loginService, logout as logoutService } from "../../app/registry_ops.ts";
import { DropzoneError } from "../../errors.ts";
import { canonicalHost, splitRegistryUrl } from "../../oci/reference.ts";
import type { CliContext } from "../context.ts";
import { createClient } from "../services.ts";

/** A configured registry name, or a host, → the canonical host. */
async function hostFor(ctx: CliContext, registry: string): Promise<string> {
  const { config } = await ctx.config();
  const named = config.registries.find((r) => r.name === registry);
  if (named) return splitRegistryUrl(named.url).host;
  const host = registry.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "");
  if (!/^[A-Za-z0-9.[\]:-]+$/.test(host) || host === "") {
    throw new DropzoneError("INVALID_ARGUMENT", `"${registry}" is neither a configured registry nor a host`, {
      hint: 'Give a host like "ghcr.io" or a name from "dz list registries"',
    });
  }
  return canonicalHost(host);
}

/** dz login */
export async function login(
  ctx: CliContext,
  registry: string,
  opts: { username?: string; passwordStdin?: boolean; verify?: boolean },
): Promise<void> {
  const host = await hostFor(ctx, registry);
  const { config } = await ctx.config();
  let username = opts.username;
  if (!username) {
    username = (await ctx.runtime.prompt("Username: ")) ?? undefined;
    if (!username) {
      throw new DropzoneError("INVALID_ARGUMENT", "Cannot log in: no username", { hint: "Pass -u <user>" });
    }
  }
  let password: string | null;
  if (opts.passwordStdin) {
    password = (await ctx.runtime.readStdin()).replace(/\r?\n$/, "");
  } else {
    password = await ctx.runtime.prompt("Password: ", { secret: true });
    if (password === null) {
      throw new DropzoneError("INVALID_ARGUMENT", "Cannot log in: no terminal to ask for the password", {
        hint: "Pipe the password or token in with --password-stdin",
      });
    }
  }
  if (!password) throw new DropzoneError("INVALID_ARGUMENT", "Cannot log in: the password is empty");
  const result = await loginService({
    client: createClient(ctx, config),
    authFile: ctx.layout.authFile,
    host,
    username,
    password,
    verify: opts.verify !== false,
  });
  if (result.authFileWasPermissive) {
    ctx.log.warn(`${ctx.layout.authFile} was readable by others; it is 0600 now`);
  }
  ctx.log.info(
    result.verified
      ? `Logged in to ${host} as ${username} (credentials verified, saved to ${ctx.layout.authFile})`
      : `Saved credentials for ${host} (user ${username}) without verifying them`,
  );
}

/** dz logout */
export async function logout(ctx: CliContext, registry: string): Promise<void> {
  const host = await hostFor(ctx, registry);
  const { removed } = await logoutService({ authFile: ctx.layout.authFile, host });
  ctx.log.info(removed ? `Removed credentials for ${host}` : `No saved credentials for ${host}`);
}

/**
 * The dz command tree (commander). Help text, completion scripts and the README's command list all come from
 * this one tree. Actions only parse arguments and call a handler in ./commands; handlers do the work.
 */
import { Argument, Command, Option, type OptionValues } from "@commander-js/extra-typings";
import { VERSION } from "../version.ts";
import type { CliContext } from "./context.ts";
import * as h from "./commands/handlers.ts";
import { ageFlag, platformFlag } from "./flags.ts";
import { type CommandShape, usageError } from "./usage.ts";

/** Runs a handler with the invocation's context and records its exit code. */
export type Invoke = (
  fn: (ctx: CliContext) => Promise<number | void>,
  options?: { init?: boolean },
) => Promise<void>;

function examples(...lines: string[]): string {
  return "\nExamples:\n" + lines.map((l) => `  $ ${l}`).join("\n") + "\n";
}

/** cosign's spellings of the policy flags, as aliases of dz's (see flags.ts#withCosignSpellings). */
// deno-lint-ignore no-explicit-any
function addCosignSpellings<A extends any[], O extends OptionValues, G extends OptionValues>(
  cmd: Command<A, O, G>,
) {
  return cmd
    .option("--certificate-identity <san>", "cosign's spelling of --identity")
    .option("--certificate-identity-regexp <re>", "cosign's spelling of --identity-regex")
    .option("--certificate-oidc-issuer <url>", "cosign's spelling of --issuer")
    .option("--certificate-oidc-issuer-regexp <re>", "cosign's spelling of --issuer-regex")
    .option("--key <pemfile>", "cosign's spelling of --public-key");
}

/**
 * `--min-age`, defined once so that every command taking it checks the value before anything runs (`pull` once
 * declared its own copy without the check and went on to the registry with "3x").
 */
function minAgeOption(verb: "refuse" | "skip") {
  return new Option("--min-age <age>", `${verb} digests signed more recently than this (e.g. 3d, 12h)`)
    .argParser(ageFlag);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Builds the command tree. `invoke` runs handlers; `io` routes commander's own output. */
export function buildProgram(
  invoke: Invoke,
  io: { out(text: string): void; err(text: string): void },
): Command<[], { verbose?: true; quiet?: true }> {
  const program = new Command()
    .name("dz")
    .description(
      "Install command-line tools from signed OCI images, verified with cosign/Sigstore, without a container runtime.",
    )
    .version(VERSION, "-V, --version", "print the dz version")
    .option("-v, --verbose", "show details and error causes on stderr")
    .option("-q, --quiet", "show only errors on stderr")
    // commander's own error text is replaced by dz's `error:` + `hint:` (see usage.ts and exitOverrides).
    .configureOutput({ writeOut: io.out, writeErr: io.err, outputError: () => {} })
    .addHelpText(
      "after",
      examples(
        "dz install jq",
        "dz list",
        "dz update --check",
        "dz add registry corp ghcr.io/corp --template github \\\n" +
          "      --identity-regex 'https://github\\.com/corp/.+/\\.github/workflows/release\\.yml@refs/tags/v.+'",
      ),
    );

  // install
  program.command("install")
    .description("Verify, pull and install an image's entrypoint as ~/.dropzone/bin/<name>")
    .argument(
      "[ref]",
      "image reference: jq, jq:1.7, chainguard/jq, ghcr.io/o/r:tag, name@sha256:…, or an OCI archive",
    )
    .option(
      "--allow-unsigned",
      "install from a registry that has no signature policy (never bypasses a policy)",
    )
    .option("--name <name>", "package and wrapper name (default: last path segment of the image)")
    .option(
      "--bin <path[:name]>",
      "also expose another binary from the image (repeatable)",
      collect,
      [] as string[],
    )
    .option("-y, --yes", "do not ask for confirmation")
    .option("--offline", "install from the local blob cache only; no network")
    .option("--locked [file]", "install exactly the digests and signers recorded in a dz.lock file")
    .option("--accept-new-signer", "accept a signer that differs from the one recorded at first install")
    .option("--allow-downgrade", "accept a version signed before the installed one (see also dz rollback)")
    .addOption(minAgeOption("refuse"))
    .option(
      "--platform <os/arch>",
      "install for this platform instead of the host (for testing)",
      platformFlag,
    )
    .option("--file <title>", "for an OCI artifact: the file (layer title) to install as the binary")
    .option(
      "--cross-check <location>",
      "unsigned installs: require this location to serve the same digest (repeatable)",
      collect,
      [] as string[],
    )
    .addHelpText(
      "after",
      examples(
        "dz install jq",
        "dz install jq:1.7.1 --name jq17",
        "dz install ghcr.io/corp/tool:v2",
        "dz install localhost:5000/mytool --allow-unsigned",
        "dz install python --bin /usr/bin/pip:pip",
        "dz install --locked dz.lock",
        "dz install ghcr.io/corp/tool:v1 --file tool-linux-amd64   # a binary published as an artifact",
      ),
    )
    .action((ref, opts) => invoke((ctx) => h.install(ctx, ref, opts)));

  program.command("pull")
    .description(
      "Verify like install, then download an artifact's files (or an image's rootfs) into a directory",
    )
    .argument("<ref>", "artifact or image reference")
    .requiredOption("-o, --output <dir>", "directory to write (must be new or empty unless --force)")
    .option(
      "--platform <os/arch>",
      "platform to pull from a multi-platform index (default: the host)",
      platformFlag,
    )
    .option("--allow-unsigned", "pull from a registry that has no signature policy (never bypasses a policy)")
    .option("--force", "write into an existing non-empty directory (entries of the same name are replaced)")
    .addOption(minAgeOption("refuse"))
    .option("--json", "print the receipt (dz-pull.json) on stdout")
    .addHelpText(
      "after",
      examples(
        "dz pull ghcr.io/corp/tool:v1 -o ./tool-v1",
        "dz pull ghcr.io/corp/tool:v1 -o ./out --platform darwin/arm64",
        "dz pull chainguard/jq -o ./jq   # an image: ./jq/rootfs",
      ),
    )
    .action((ref, opts) => invoke((ctx) => h.pull(ctx, ref, opts)));

  // remove / remove registry
  const remove = program.command("remove").aliases(["rm", "uninstall"])
    .description("Remove an installed package (wrapper first, then its files)")
    .argument("<name>", "installed package name")
    .option("-y, --yes", "do not ask for confirmation")
    .option("--dry-run", "say what would be removed; change nothing")
    .addHelpText(
      "after",
      examples("dz remove jq", "dz remove jq --yes", "dz remove jq --dry-run", "dz remove registry corp"),
    )
    .action((name, opts) => invoke((ctx) => h.remove(ctx, name, opts)));
  remove.command("registry")
    .description("Remove a configured registry")
    .argument("<name>", "registry name")
    .option("--force", "remove even while packages installed from it exist")
    .addHelpText("after", examples("dz remove registry corp", "dz remove registry corp --force"))
    .action((name, _opts, cmd) => invoke((ctx) => h.removeRegistry(ctx, name, cmd.optsWithGlobals())));
  remove.command("mirror")
    .description("Remove a mirror prefix, or one of its locations")
    .argument("<prefix>", "the upstream prefix, e.g. docker.io/chainguard")
    .argument("[location]", "only this location (the prefix goes when its last location does)")
    .addHelpText(
      "after",
      examples("dz remove mirror docker.io/chainguard", "dz remove mirror docker.io 127.0.0.1:5000"),
    )
    .action((prefix, location) => invoke((ctx) => h.removeMirror(ctx, prefix, location)));

  // list / list registries
  const list = program.command("list").alias("ls")
    .description("List installed packages")
    .option("--json", "print JSON (schema in README)")
    .addHelpText("after", examples("dz list", "dz list --json", "dz list registries"))
    .action((opts) => invoke((ctx) => h.list(ctx, opts)));
  list.command("registries")
    .description("List configured registries and their policies")
    .option("--json", "print JSON")
    .addHelpText("after", examples("dz list registries", "dz list registries --json"))
    // `list` also has --json; commander gives it to the parent, so merge parent options in.
    .action((_opts, cmd) => invoke((ctx) => h.listRegistries(ctx, cmd.optsWithGlobals())));
  list.command("mirrors")
    .description("List registry mirrors, one row per location in the order they are tried")
    .option("--json", "print JSON: [{prefix, location, pull_from_mirror, insecure}]")
    .addHelpText("after", examples("dz list mirrors", "dz list mirrors --json"))
    .action((_opts, cmd) => invoke((ctx) => h.listMirrors(ctx, cmd.optsWithGlobals())));

  program.command("info")
    .description("Show the provenance trail of an installed package")
    .argument("<name>", "installed package name")
    .option("--json", "print the package metadata as JSON")
    .addHelpText("after", examples("dz info jq", "dz info jq --json"))
    .action((name, opts) => invoke((ctx) => h.info(ctx, name, opts)));

  // add registry
  const add = program.command("add").description("Add configuration entries (see: dz add registry --help)");
  const addRegistry = add.command("registry")
    .description("Add a registry with a signature policy (or change it with --replace)")
    .argument("<name>", "registry name (a-z, 0-9, '_' and '-')")
    .argument("<url>", "host with optional namespace, e.g. ghcr.io/my-org or localhost:5000")
    .addOption(
      new Option("--template <name>", "pre-fill the policy").choices([
        "github",
        "gitlab",
        "google",
        "chainguard",
      ]),
    )
    .option("--issuer <url>", "OIDC issuer the signing certificate must carry (exact)")
    .option("--issuer-regex <re>", "OIDC issuer as an anchored regular expression")
    .option("--identity <san>", "signer identity (certificate SAN), exact")
    .option(
      "--identity-regex <re>",
      "signer identity as an anchored regular expression (matches the whole SAN)",
    )
    .option("--public-key <pemfile>", "verify with this cosign public key instead of a keyless identity")
    .option("--trusted-root <jsonfile>", "trusted_root.json of a private Sigstore deployment")
    .option("--replace", "change the policy of an existing registry in place and re-check installed packages")
    .option(
      "--accept <proofs>",
      "proof of origin to accept: signature (default), provenance (SLSA v1 attestations), or signature,provenance",
    )
    .option("--insecure", "allow plain HTTP to this registry (loopback hosts never need it)")
    .option("--default", "make it the default registry for short names")
    .addHelpText(
      "after",
      examples(
        "dz add registry corp ghcr.io/corp --template github --identity https://github.com/corp/tools/.github/workflows/release.yml@refs/heads/main",
        "dz add registry cg cgr.dev/chainguard --template chainguard --default",
        "dz add registry keyed registry.example.com/team --public-key cosign.pub",
        "dz add registry lab localhost:5000",
        "dz add registry corp ghcr.io/corp --certificate-oidc-issuer https://token.actions.githubusercontent.com \\\n" +
          "      --certificate-identity-regexp 'https://github\\.com/corp/.+' --replace",
        "dz add registry gh ghcr.io/corp --template github --identity-regex 'https://github\\.com/corp/.+' --accept signature,provenance",
      ),
    );
  addCosignSpellings(addRegistry)
    .action((name, url, opts) => invoke((ctx) => h.addRegistry(ctx, name, url, opts)));
  add.command("mirror")
    .description(
      "Fetch images under a prefix from a mirror or pull-through cache first (verified as upstream)",
    )
    .argument("<prefix>", "upstream host or host/namespace, e.g. docker.io/chainguard")
    .argument("<location>", "mirror host[:port][/namespace]; a second one for the same prefix is tried after")
    .option("--digest-only", "ask the mirror only for content by digest; tags always resolve upstream")
    .option("--insecure", "reach the mirror over plain HTTP (loopback hosts never need it)")
    .addHelpText(
      "after",
      examples(
        "dz add mirror docker.io/chainguard mirror.corp.example/hub-chainguard",
        "dz add mirror docker.io 127.0.0.1:5000 --digest-only",
      ),
    )
    .action((prefix, location, opts) => invoke((ctx) => h.addMirror(ctx, prefix, location, opts)));

  program.command("search")
    .description("Search a registry's catalog for images")
    .argument("[term]", "substring to match")
    .option("--registry <name>", "registry to search (default: the default registry)")
    .option("--json", "print JSON")
    .option("--refresh", "ignore the cached catalog")
    .addHelpText("after", examples("dz search", "dz search py --registry corp", "dz search --json"))
    .action((term, opts) => invoke((ctx) => h.search(ctx, term, opts)));

  program.command("tags")
    .description("List an image's tags in version order (semver-aware, suffix tracks grouped)")
    .argument("<image>", "image reference or installed package name")
    .option("--registry <name>", "look the image up in this registry")
    .option("--all", "include cosign signature/attestation tags")
    .option("--json", "print JSON")
    .addHelpText("after", examples("dz tags jq", "dz tags ghcr.io/corp/tool --all", "dz tags python --json"))
    .action((image, opts) => invoke((ctx) => h.tags(ctx, image, opts)));

  program.command("update").alias("upgrade")
    .description("Check installed packages for same-tag rebuilds and newer tags; apply with --yes")
    .argument("[name]", "only this package")
    .option("--check", "only check; exit 100 when updates are available")
    .option("--all", "apply to all packages (with --yes)")
    .option("-y, --yes", "apply without asking")
    .option("--json", "print the check results as JSON")
    .option("--changelog", "verify each available update's attestations and show what it changes (uses GETs)")
    .option("--allow-unsigned", "allow updating packages installed with --allow-unsigned")
    .option("--accept-new-signer", "accept a signer that differs from the recorded one")
    .option("--allow-downgrade", "apply updates signed before the installed version (a moved-back tag)")
    .addOption(minAgeOption("skip"))
    .option("--dry-run", "say what would be updated; change nothing")
    .addHelpText(
      "after",
      examples(
        "dz update",
        "dz update --all --dry-run",
        "dz update --check",
        "dz update jq --yes",
        "dz update --all --yes",
        "dz update --check --json",
        "dz update --check --changelog",
      ),
    )
    .action((name, opts) => invoke((ctx) => h.update(ctx, name, opts)));

  program.command("outdated")
    .description("List available updates; the same as: dz update --check (exit 100 when there are any)")
    .argument("[name]", "only this package")
    .option("--json", "print the check results as JSON")
    .option("--changelog", "verify each available update's attestations and show what it changes (uses GETs)")
    .addHelpText("after", examples("dz outdated", "dz outdated --json"))
    .action((name, opts) => invoke((ctx) => h.update(ctx, name, { ...opts, check: true })));

  program.command("rollback")
    .description("Switch a package back to a previously installed digest")
    .argument("<name>", "installed package name")
    .option("--to <digest|N>", "a digest (or unique prefix) or N steps back (default: 1)")
    .addHelpText(
      "after",
      examples("dz rollback jq", "dz rollback jq --to 2", "dz rollback jq --to sha256:3f2a"),
    )
    .action((name, opts) => invoke((ctx) => h.rollback(ctx, name, opts)));

  const verify = program.command("verify")
    .description("Verify an image's signature (without pulling layers) or re-verify an installed package")
    .argument("<ref|name>", "image reference, installed package name, or OCI archive")
    .option("--json", "print the verification result as JSON")
    .option("--offline", "do not refresh the trusted root")
    .option("--files", "check an installed package's files against the sha256 manifest recorded at install")
    .option("--issuer <url>", "check against this OIDC issuer instead of the registry's policy (exact)")
    .option("--issuer-regex <re>", "OIDC issuer as an anchored regular expression")
    .option("--identity <san>", "check against this signer identity instead of the registry's policy (exact)")
    .option("--identity-regex <re>", "signer identity as an anchored regular expression")
    .option("--public-key <pemfile>", "check against this cosign public key instead of the registry's policy")
    .addHelpText(
      "after",
      examples(
        "dz verify jq",
        "dz verify chainguard/python:latest --json",
        "dz verify jq.tar",
        "dz verify jq --files",
        "dz verify ghcr.io/corp/tool:v1 --certificate-identity-regexp 'https://github\\.com/corp/.+' \\\n" +
          "      --certificate-oidc-issuer https://token.actions.githubusercontent.com",
      ),
    );
  addCosignSpellings(verify)
    .action((target, opts) => invoke((ctx) => h.verify(ctx, target, opts)));

  program.command("doctor")
    .description(
      "Find and repair drift: orphan wrappers, broken links, crash leftovers, PATH, trusted root age",
    )
    .option("--fix", "repair what is safe to repair and report what changed")
    .option("--json", "print findings as JSON")
    .addHelpText("after", examples("dz doctor", "dz doctor --fix", "dz doctor --json"))
    .action((opts) => invoke((ctx) => h.doctor(ctx, opts), { init: false }));

  program.command("gc")
    .description("Delete cached blobs and layer snapshots no installed version references")
    .option("--dry-run", "only show what would be deleted and how much it frees")
    .addHelpText("after", examples("dz gc", "dz gc --dry-run"))
    .action((opts) => invoke((ctx) => h.gc(ctx, opts)));

  program.command("pin")
    .description("Keep a package at its current version: dz update --all and --yes skip it")
    .argument("<name>", "installed package name")
    .addHelpText("after", examples("dz pin jq", "dz unpin jq"))
    .action((name) => invoke((ctx) => h.pin(ctx, name)));

  program.command("unpin")
    .description("Let dz update a pinned package again")
    .argument("<name>", "installed package name")
    .addHelpText("after", examples("dz unpin jq"))
    .action((name) => invoke((ctx) => h.unpin(ctx, name)));

  const path = program.command("path")
    .description("Show whether ~/.dropzone/bin is on PATH")
    .addHelpText("after", examples("dz path", "dz path setup", "dz path unset"))
    .action(() => invoke((ctx) => h.pathStatusCmd(ctx)));
  path.command("setup")
    .description("Add ~/.dropzone/bin to PATH in your shell's rc file (a marked block)")
    .addOption(new Option("--shell <shell>", "shell to configure").choices(["bash", "zsh", "fish"]))
    .addHelpText("after", examples("dz path setup", "dz path setup --shell zsh"))
    .action((opts) => invoke((ctx) => h.pathSetupCmd(ctx, opts)));
  path.command("unset")
    .description("Remove dz's block from your shell's rc file")
    .addOption(new Option("--shell <shell>", "shell to configure").choices(["bash", "zsh", "fish"]))
    .addHelpText("after", examples("dz path unset", "dz path unset --shell fish"))
    .action((opts) => invoke((ctx) => h.pathUnsetCmd(ctx, opts)));

  program.command("login")
    .description("Save credentials for a registry (verified against it first)")
    .argument("<registry>", "registry host or configured name, e.g. ghcr.io")
    .option("-u, --username <user>", "user name (prompted when omitted)")
    .option("--password-stdin", "read the password or token from stdin")
    .option("--no-verify", "save without checking them against the registry")
    .addHelpText(
      "after",
      examples("dz login ghcr.io -u me", 'echo "$TOKEN" | dz login ghcr.io -u me --password-stdin'),
    )
    .action((registry, opts) => invoke((ctx) => h.login(ctx, registry, opts)));

  program.command("logout")
    .description("Remove saved credentials for a registry")
    .argument("<registry>", "registry host or configured name")
    .addHelpText("after", examples("dz logout ghcr.io"))
    .action((registry) => invoke((ctx) => h.logout(ctx, registry)));

  program.command("purge")
    .description("Delete the dz home (packages, wrappers, cache, config)")
    .option("-y, --yes", "do not ask for confirmation")
    .option("--dry-run", "say what would be deleted; change nothing")
    .addHelpText("after", examples("dz purge", "dz purge --yes", "dz purge --dry-run"))
    .action((opts) => invoke((ctx) => h.purge(ctx, opts), { init: false }));

  program.command("lock")
    .description("Write dz.lock with the per-platform digests and signers of installed packages")
    .argument("[file]", "lockfile path", "dz.lock")
    .option("--check", "exit 1 when the installed set differs from the lockfile")
    .addHelpText("after", examples("dz lock", "dz lock --check", "dz install --locked dz.lock"))
    .action((file, opts) => invoke((ctx) => h.lock(ctx, file, opts)));

  program.command("export")
    .description("Write an OCI image-layout archive with the image, its signatures and the trusted root")
    .argument("<ref|name>", "image reference or installed package name")
    .requiredOption("-o, --output <file>", "archive to write (.tar)")
    .option("--platform <os/arch>", "platform to export (default: the host)", platformFlag)
    .addHelpText(
      "after",
      examples("dz export jq -o jq.tar", "dz install jq.tar   # on the air-gapped machine"),
    )
    .action((target, opts) => invoke((ctx) => h.exportImage(ctx, target, opts)));

  program.command("run")
    .description("Verify, pull into the cache and run an image's entrypoint once, without installing")
    .argument("<ref>", "image reference")
    .argument("[args...]", "arguments for the tool (put them after --)")
    .option("--allow-unsigned", "allow a registry without a signature policy")
    .option("--accept-new-signer", "accept a signer that differs from the installed package's recorded one")
    .addOption(minAgeOption("refuse"))
    .addHelpText(
      "after",
      examples("dz run jq -- --version", "dz run chainguard/curl -- -sI https://example.com"),
    )
    .action((ref, args, opts) => invoke((ctx) => h.runOnce(ctx, ref, args, opts)));

  program.command("completion")
    .description("Print a shell completion script")
    .addArgument(new Argument("<shell>", "shell").choices(["bash", "zsh", "fish", "powershell"]))
    .addHelpText(
      "after",
      examples(
        "dz completion bash > ~/.local/share/bash-completion/completions/dz",
        'dz completion zsh > "${fpath[1]}/_dz"',
        "dz completion fish > ~/.config/fish/completions/dz.fish",
      ),
    )
    .action((shell) =>
      invoke((ctx) => h.completion(ctx, shell, program as unknown as Command), { init: false })
    );

  program.command("__complete", { hidden: true })
    .argument("<kind>", "packages | registries")
    .action((kind) => invoke((ctx) => h.completeNames(ctx, kind), { init: false }));

  exitOverrides(program as unknown as CommandShape & AnyCommand);
  return program;
}

// deno-lint-ignore no-explicit-any
type AnyCommand = Command<any, any, any>;

/**
 * Every command throws dz's usage error instead of commander's (the callback is per command, so the error
 * knows which command's flags and subcommands to suggest from). Help and --version pass through as exit 0.
 */
function exitOverrides(cmd: CommandShape & AnyCommand): void {
  cmd.exitOverride((err) => {
    throw usageError(cmd, err) ?? err;
  });
  for (const sub of cmd.commands) exitOverrides(sub as unknown as CommandShape & AnyCommand);
}

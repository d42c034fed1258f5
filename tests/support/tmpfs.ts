/**
 * A small tmpfs mounted for a test (root only): a full disk or a read-only file system on demand.
 * `await using fs = await mountTmpfs({ sizeKiB: 64 })`; `canMount()` says whether this machine allows it.
 */

/** A mounted tmpfs, unmounted and removed on dispose. */
export interface Tmpfs extends AsyncDisposable {
  readonly path: string;
}

/** True when the test may mount file systems (root, with a working `mount`). */
export async function canMount(): Promise<boolean> {
  try {
    await using _ = await mountTmpfs({ sizeKiB: 16 });
    return true;
  } catch {
    return false;
  }
}

/** Mounts a tmpfs of `sizeKiB` (read-only when `readOnly`) on `at`, or on a new temp directory. */
export async function mountTmpfs(
  options: { sizeKiB: number; readOnly?: boolean; at?: string },
): Promise<Tmpfs> {
  const path = options.at ?? await Deno.makeTempDir({ prefix: "dz-tmpfs-" });
  const opts = `size=${options.sizeKiB}k${options.readOnly ? ",ro" : ""}`;
  const out = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", opts, "tmpfs", path],
    stderr: "piped",
  })
    .output();
  if (!out.success) {
    if (options.at === undefined) await Deno.remove(path);
    throw new Error(`mount failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return {
    path,
    async [Symbol.asyncDispose]() {
      await new Deno.Command("umount", { args: [path] }).output();
      if (options.at === undefined) await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

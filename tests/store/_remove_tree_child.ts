/** Child for removeTree(): builds a tree with 0555 dirs and 0000 files, removes it, prints the outcome. */
import { join } from "node:path";
import { removeTree } from "../../src/fs.ts";

const root = await Deno.makeTempDir({ prefix: "dz-rotree-" });
const tree = join(root, "rootfs");
await Deno.mkdir(join(tree, "usr", "bin"), { recursive: true });
await Deno.writeTextFile(join(tree, "usr", "bin", "tool"), "x");
await Deno.writeTextFile(join(tree, "etc-shadow"), "secret");
await Deno.mkdir(join(tree, "root"));
await Deno.writeTextFile(join(tree, "root", "f"), "y");
await Deno.symlink("/etc", join(tree, "usr", "abs-link"));
await Deno.chmod(join(tree, "etc-shadow"), 0o000);
await Deno.chmod(join(tree, "usr", "bin"), 0o555);
await Deno.chmod(join(tree, "usr"), 0o555);
await Deno.chmod(join(tree, "root"), 0o000);
let plainFailed = false;
try {
  await Deno.remove(tree, { recursive: true });
} catch (err) {
  plainFailed = err instanceof Deno.errors.PermissionDenied;
}
await removeTree(tree);
let gone = false;
try {
  await Deno.lstat(tree);
} catch (err) {
  gone = err instanceof Deno.errors.NotFound;
}
await Deno.remove(root);
await Deno.stdout.write(
  new TextEncoder().encode(JSON.stringify({ uid: Deno.uid(), plainFailed, gone }) + "\n"),
);

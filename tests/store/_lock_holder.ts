/** Child for lock tests: takes the store lock at Deno.args[0], prints "held <pid>", then holds it. */
import { acquireStoreLock } from "../../src/store/lock.ts";

const lock = await acquireStoreLock(Deno.args[0]!, { timeoutMs: 10_000 });
await Deno.stdout.write(new TextEncoder().encode(`held ${Deno.pid}\n`));
const releaseAfter = Number(Deno.args[1] ?? "0");
if (releaseAfter > 0) {
  await new Promise((resolve) => setTimeout(resolve, releaseAfter));
  await lock.release();
  await Deno.stdout.write(new TextEncoder().encode("released\n"));
} else {
  setInterval(() => {}, 60_000); // hold until killed
}

/**
 * `dz doctor --fix`: repairs what is safe to repair, under the store lock, re-reading the state itself, and
 * returns what it changed.
 */
import { join } from "node:path";
import { setMode } from "../file_ops.ts";
import type { Host } from "../runtime.ts";
import { removeWrapper, writeLink, writeWrapper } from "../shim/write.ts";
import { removeTree } from "../fs.ts";
import { rootfsProblem } from "../store/package_state.ts";
import { readCurrent } from "../store/packages.ts";
import { repairStore, scanStore } from "../store/recovery.ts";
import { inspectAuth, inspectConfig, inspectRootfs } from "./doctor_checks.ts";
import { type Change, describeRepair, type DoctorDeps } from "./doctor_findings.ts";
import { refreshStaleTrustedRoot } from "./doctor_trust.ts";
import { inspectWrappers } from "./doctor_wrappers.ts";
import { reunpackFromCache } from "./repair.ts";

/**
 * Repairs what is safe: store leftovers, missing or broken `current`, half-written versions (via
 * `repairStore`), then missing and stale wrappers (regenerated from the current version), orphan dz wrappers,
 * half-written wrapper temp files, and auth.json permissions. Foreign files, corrupt metadata, config errors and
 * environment findings are never touched. Call it holding the store lock; it re-reads the state itself.
 */
export async function fix(deps: DoctorDeps, host: Host): Promise<Change[]> {
  const { layout } = deps;
  const changes: Change[] = [];
  const store = await scanStore(layout);
  changes.push(...(await repairStore(layout, store)).map(describeRepair));
  for (const f of await inspectRootfs(layout)) {
    if (!f.fixable) continue;
    const current = await readCurrent(layout, f.subject);
    const problem = current ? await rootfsProblem(layout, current.metadata) : null;
    if (!current || problem === null) continue;
    const { config } = await inspectConfig(layout);
    await reunpackFromCache(layout, config ?? { concurrency: 4, layer_cache: true }, current.metadata);
    changes.push({
      kind: "reunpacked",
      subject: f.subject,
      message: `unpacked "${f.subject}" ${current.digest} again from the blob cache (${problem})`,
    });
  }
  // Wrappers after the store: a re-pointed package gets its wrappers back instead of losing them as orphans.
  const wrappers = await inspectWrappers(layout, host);
  for (const path of wrappers.leftovers) {
    await removeTree(path);
    changes.push({
      kind: "removed-bin-leftover",
      subject: path,
      message: `removed half-written wrapper ${path}`,
    });
  }
  for (const [name, entry] of wrappers.toWrite) {
    const pkg = entry.package;
    if ("link" in entry) await writeLink(layout.bin, name, entry.link, pkg);
    else await writeWrapper(layout.bin, name, entry.text);
    const path = join(layout.bin, name);
    changes.push({
      kind: "wrote-wrapper",
      subject: path,
      message: `regenerated wrapper ${path} for "${pkg}"`,
    });
  }
  for (const name of wrappers.orphans) {
    const path = join(layout.bin, name);
    if (await removeWrapper(layout.bin, name)) {
      changes.push({
        kind: "removed-orphan-wrapper",
        subject: path,
        message: `removed orphan wrapper ${path}`,
      });
    }
  }
  const refreshed = await refreshStaleTrustedRoot(deps, (await inspectConfig(layout)).config);
  if (refreshed) changes.push(refreshed);
  if (await inspectAuth(layout)) {
    await setMode(layout.authFile, 0o600);
    changes.push({
      kind: "chmod-auth",
      subject: layout.authFile,
      message: `set ${layout.authFile} to mode 0600`,
    });
  }
  return changes;
}

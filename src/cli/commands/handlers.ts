/**
 * Command handlers, one module per command family; program.ts wires them to the tree. Each module is imported
 * only when its command runs, so `dz list` does not load the registry client, the Sigstore libraries or the
 * unpacker (start-up is most of a quick command's time). The literal specifiers keep them in `deno compile`.
 */

// deno-lint-ignore no-explicit-any
type Handler = (...args: any[]) => Promise<number | void>;

function lazy<M, K extends keyof M>(load: () => Promise<M>, key: K): M[K] {
  const call: Handler = async (...args) => ((await load())[key] as unknown as Handler)(...args);
  return call as unknown as M[K];
}

type Registry = typeof import("./registry.ts");
type List = typeof import("./list.ts");
type Install = typeof import("./install.ts");
type Path = typeof import("./path.ts");
type Auth = typeof import("./auth.ts");
type Browse = typeof import("./browse.ts");
type Completion = typeof import("./completion.ts");

const registry = () => import("./registry.ts");
const list_ = () => import("./list.ts");
const install_ = () => import("./install.ts");
const path = () => import("./path.ts");
const auth = () => import("./auth.ts");
const browse = () => import("./browse.ts");
const completion_ = () => import("./completion.ts");

export const addRegistry: Registry["addRegistry"] = lazy(registry, "addRegistry");
export const listRegistries: Registry["listRegistries"] = lazy(registry, "listRegistries");
export const removeRegistry: Registry["removeRegistry"] = lazy(registry, "removeRegistry");
type Mirror = typeof import("./mirror.ts");
const mirror = () => import("./mirror.ts");
export const addMirror: Mirror["addMirror"] = lazy(mirror, "addMirror");
export const listMirrors: Mirror["listMirrors"] = lazy(mirror, "listMirrors");
export const removeMirror: Mirror["removeMirror"] = lazy(mirror, "removeMirror");
export const info: List["info"] = lazy(list_, "info");
export const list: List["list"] = lazy(list_, "list");
export const purge: typeof import("./purge.ts")["purge"] = lazy(() => import("./purge.ts"), "purge");
export const completeNames: Completion["completeNames"] = lazy(completion_, "completeNames");
export const completion: Completion["completion"] = lazy(completion_, "completion");
export const install: Install["install"] = lazy(install_, "install");
export const remove: Install["remove"] = lazy(install_, "remove");
export const pull: typeof import("./pull.ts")["pull"] = lazy(() => import("./pull.ts"), "pull");
export const doctor: typeof import("./doctor.ts")["doctor"] = lazy(() => import("./doctor.ts"), "doctor");
export const pin: typeof import("./pin.ts")["pin"] = lazy(() => import("./pin.ts"), "pin");
export const unpin: typeof import("./pin.ts")["unpin"] = lazy(() => import("./pin.ts"), "unpin");
export const gc: typeof import("./gc.ts")["gc"] = lazy(() => import("./gc.ts"), "gc");
export const verify: typeof import("./verify.ts")["verify"] = lazy(() => import("./verify.ts"), "verify");
export const pathSetupCmd: Path["pathSetupCmd"] = lazy(path, "pathSetupCmd");
export const pathStatusCmd: Path["pathStatusCmd"] = lazy(path, "pathStatusCmd");
export const pathUnsetCmd: Path["pathUnsetCmd"] = lazy(path, "pathUnsetCmd");
export const login: Auth["login"] = lazy(auth, "login");
export const logout: Auth["logout"] = lazy(auth, "logout");
export const search: Browse["search"] = lazy(browse, "search");
export const tags: Browse["tags"] = lazy(browse, "tags");
export const lock: typeof import("./lock.ts")["lock"] = lazy(() => import("./lock.ts"), "lock");
export const runOnce: typeof import("./run.ts")["runOnce"] = lazy(() => import("./run.ts"), "runOnce");
export const exportImage: typeof import("./archive.ts")["exportImage"] = lazy(
  () => import("./archive.ts"),
  "exportImage",
);
export const update: typeof import("./update.ts")["update"] = lazy(() => import("./update.ts"), "update");
export const rollback: typeof import("./rollback.ts")["rollback"] = lazy(
  () => import("./rollback.ts"),
  "rollback",
);

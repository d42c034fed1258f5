/**
 * Command handlers, one module per command family; program.ts wires them to the tree. Each module is imported
 * only when its command runs, so `dz list` does not load the registry client, the Sigstore libraries or the
 * unpacker (start-up is most of a quick command's time). The literal specifiers keep them in `deno compile`.
 */

// deno-lint-ignore no-explicit-any
type Handler = (...args: any[]) => Promise<number | void>;

/**
 * The module `load` imports, as a stand-in whose every property is a handler that imports the module on its
 * first call and calls the real one. Destructure only the module's exported handlers from it.
 */
export function lazy<M>(load: () => Promise<M>): M {
  const get = (_: unknown, key: string | symbol): Handler => async (...args) =>
    ((await load() as Record<string | symbol, Handler>)[key]!)(...args);
  return new Proxy({}, { get }) as M;
}

export const { addRegistry, listRegistries, removeRegistry } = lazy(() => import("./registry.ts"));
export const { addMirror, listMirrors, removeMirror } = lazy(() => import("./mirror.ts"));
export const { info, list } = lazy(() => import("./list.ts"));
export const { purge } = lazy(() => import("./purge.ts"));
export const { completeNames, completion } = lazy(() => import("./completion.ts"));
export const { install, remove } = lazy(() => import("./install.ts"));
export const { pull } = lazy(() => import("./pull.ts"));
export const { doctor } = lazy(() => import("./doctor.ts"));
export const { pin, unpin } = lazy(() => import("./pin.ts"));
export const { gc } = lazy(() => import("./gc.ts"));
export const { verify } = lazy(() => import("./verify.ts"));
export const { pathSetupCmd, pathStatusCmd, pathUnsetCmd } = lazy(() => import("./path.ts"));
export const { login, logout } = lazy(() => import("./auth.ts"));
export const { search, tags } = lazy(() => import("./browse.ts"));
export const { lock } = lazy(() => import("./lock.ts"));
export const { runOnce } = lazy(() => import("./run.ts"));
export const { exportImage } = lazy(() => import("./archive.ts"));
export const { update } = lazy(() => import("./update.ts"));
export const { rollback } = lazy(() => import("./rollback.ts"));

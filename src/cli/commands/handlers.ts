/** Command handlers, one module per command family; program.ts wires them to the tree. */

export { addRegistry, listRegistries, removeRegistry } from "./registry.ts";
export { info, list } from "./list.ts";
export { purge } from "./purge.ts";
export { completeNames, completion } from "./completion.ts";
export { install, remove } from "./install.ts";
export { doctor } from "./doctor.ts";
export { gc } from "./gc.ts";
export { verify } from "./verify.ts";
export { pathSetupCmd, pathStatusCmd, pathUnsetCmd } from "./path.ts";
export { login, logout } from "./auth.ts";
export { search, tags } from "./browse.ts";
export { lock } from "./lock.ts";
export { runOnce } from "./run.ts";
export { exportImage } from "./archive.ts";

export { update } from "./update.ts";
export { rollback } from "./rollback.ts";

/**
 * POSIX path joining for the modules `dz list` and completion load: the first `node:` import of a process costs
 * ~15 ms under Deno (the Node compatibility layer starts), a third of `dz list`'s own time. Same results as
 * `node:path` (POSIX) for the functions here; tests/path_test.ts compares them case by case. dz runs on Linux and
 * macOS only, so `/` is the only separator (a `\` is an ordinary file-name character).
 */

/** Resolves `.` and `..` segments and repeated slashes; keeps a trailing slash. Pure. */
export function normalize(path: string): string {
  if (path === "") return ".";
  const absolute = path.startsWith("/");
  const trailing = path.endsWith("/");
  const out: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
      continue;
    }
    out.push(segment);
  }
  let joined = out.join("/");
  if (joined === "") return absolute ? "/" : trailing ? "./" : ".";
  if (trailing) joined += "/";
  return absolute ? `/${joined}` : joined;
}

/** Joins the non-empty parts with `/` and normalizes the result (`"."` when nothing is left). Pure. */
export function join(...parts: string[]): string {
  const joined = parts.filter((p) => p !== "").join("/");
  return joined === "" ? "." : normalize(joined);
}

/** True for a path that starts at the root. Pure. */
export function isAbsolute(path: string): boolean {
  return path.startsWith("/");
}

/** The last segment, ignoring trailing slashes (`""` for `/`). Pure. */
export function basename(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

/**
 * Everything before the last segment (`"."` when there is none, `"/"` at the root), sliced before the slash that
 * precedes it, as node does (`"a//b"` gives `"a/"`). Pure.
 */
export function dirname(path: string): string {
  if (path === "") return ".";
  const rooted = path.startsWith("/");
  let end = -1;
  let inTrailingSlashes = true;
  for (let i = path.length - 1; i >= 1; i--) {
    if (path[i] === "/") {
      if (!inTrailingSlashes) {
        end = i;
        break;
      }
    } else inTrailingSlashes = false;
  }
  if (end === -1) return rooted ? "/" : ".";
  if (rooted && end === 1) return "//";
  return path.slice(0, end);
}

/**
 * The absolute path of the parts, right to left until one is absolute, then against the working directory;
 * normalized, without a trailing slash.
 */
export function resolve(...parts: string[]): string {
  let path = "";
  for (let i = parts.length - 1; i >= 0 && !path.startsWith("/"); i--) {
    const part = parts[i]!;
    if (part === "") continue;
    path = path === "" ? part : `${part}/${path}`;
  }
  if (!path.startsWith("/")) path = path === "" ? Deno.cwd() : `${Deno.cwd()}/${path}`;
  const normalized = normalize(path);
  return normalized.length > 1 && normalized.endsWith("/") ? normalized.slice(0, -1) : normalized;
}

/**
 * The per-file record the unpacker reports while it writes a rootfs (sha256 computed from the bytes as they pass
 * through, so recording costs no extra read), and a collector that turns the reports of every layer, in order,
 * into the manifest of the final tree. The interface is all an unpacker needs to know: whatever writes the files
 * (one rootfs, per-layer snapshots) reports `file`, `linked` and `removed` in layer order.
 */

/** One regular file of a rootfs. `path` is relative to the rootfs root, `/`-separated, without a leading `/`. */
export interface UnpackedFile {
  readonly path: string;
  /** Lowercase hex sha256 of the content. */
  readonly sha256: string;
  readonly size: number;
  /** Permission bits as written (`& 0o777`). */
  readonly mode: number;
}

/** Where the unpacker reports what it wrote. */
export interface FileSink {
  /** A regular file was written (replacing anything at `path`). */
  file(entry: UnpackedFile): void;
  /** `path` became a hard link to `target` (both relative paths). */
  linked(path: string, target: string): void;
  /** `path` and everything below it was removed (whiteout, opaque dir, replaced entry). */
  removed(path: string): void;
}

/** A sink that keeps the manifest of the tree as it is after the last report. */
export interface FileManifestCollector extends FileSink {
  /** The regular files of the final tree, sorted by path. */
  entries(): UnpackedFile[];
}

/** Creates an empty collector. */
export function fileManifestCollector(): FileManifestCollector {
  const files = new Map<string, UnpackedFile>();
  return {
    file(entry) {
      files.set(entry.path, entry);
    },
    linked(path, target) {
      const t = files.get(target);
      if (t) files.set(path, { ...t, path });
      else files.delete(path); // a link to a symlink: not a regular file
    },
    removed(path) {
      files.delete(path);
      const prefix = `${path}/`;
      for (const key of files.keys()) if (key.startsWith(prefix)) files.delete(key);
    },
    entries() {
      return [...files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    },
  };
}

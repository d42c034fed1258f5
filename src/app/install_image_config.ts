/** The image config saved beside each version's rootfs (`image-config.json`): written at staging, read to re-plan. */
import { join } from "node:path";
import { DropzoneError } from "../errors.ts";
import { readTextIfExists } from "../fs.ts";
import { writeNewFile } from "../file_ops.ts";
import { type ImageConfig, parseImageConfig } from "../oci/manifest.ts";

/** The image config is kept next to the rootfs so wrappers can be regenerated (rollback, doctor, run). */
export const IMAGE_CONFIG_FILE = "image-config.json";

/** Writes the image config's exact bytes into a version's staging directory. */
export async function writeImageConfig(versionDir: string, bytes: Uint8Array): Promise<void> {
  await writeNewFile(join(versionDir, IMAGE_CONFIG_FILE), bytes);
}

/**
 * Parses a saved image config; `path` names the file in the error. Pure. A damaged file is an I/O failure of
 * the store (exit 1), not a trust failure: its digest was checked when it was installed.
 */
export function parseSavedImageConfig(text: string, path: string): ImageConfig {
  try {
    return parseImageConfig(new TextEncoder().encode(text));
  } catch (err) {
    throw new DropzoneError("IO", `Cannot read "${path}": ${(err as Error).message}`, {
      hint:
        "The installed version is damaged: reinstall the package with dz install (dz doctor lists the damage)",
      cause: err,
    });
  }
}

/** Reads and parses the image config saved in `versionDir`. */
export async function readImageConfig(versionDir: string): Promise<ImageConfig> {
  const path = join(versionDir, IMAGE_CONFIG_FILE);
  const text = await readTextIfExists(path);
  if (text === undefined) {
    throw new DropzoneError("IO", `Cannot read "${path}": the saved image config is missing`, {
      hint:
        "The installed version is damaged: reinstall the package with dz install (dz doctor lists the damage)",
    });
  }
  return parseSavedImageConfig(text, path);
}

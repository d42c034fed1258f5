/**
 * OCI manifest, index and config shapes, parsed strictly from untrusted JSON. Parsing throws TypeError on a bad
 * shape; callers wrap that in a DropzoneError that names the registry.
 */
import { type Digest, isDigest } from "./digest.ts";
import { isImageManifestMediaType, isIndexMediaType, MEDIA_TYPES } from "./media_types.ts";

/** The platform of an index entry or image config. */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

/** A content descriptor. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: Platform;
  readonly artifactType?: string;
}

/** An image manifest (OCI or Docker schema2). */
export interface ImageManifest {
  readonly kind: "manifest";
  readonly mediaType: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** An image index (OCI) or manifest list (Docker). */
export interface ImageIndex {
  readonly kind: "index";
  readonly mediaType: string;
  readonly manifests: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** Either kind of manifest. */
export type AnyManifest = ImageManifest | ImageIndex;

/** The parts of an image config dz uses. */
export interface ImageConfig {
  readonly os?: string;
  readonly architecture?: string;
  readonly variant?: string;
  readonly config: {
    readonly Entrypoint?: readonly string[] | null | undefined;
    readonly Cmd?: readonly string[] | null | undefined;
    readonly Env?: readonly string[] | null | undefined;
    readonly WorkingDir?: string;
    readonly User?: string;
    readonly Labels?: Readonly<Record<string, string>> | null;
  };
  readonly rootfs?: { readonly type: string; readonly diff_ids: readonly string[] };
}

/** A well-formed document whose media type is not an image manifest or index dz reads. */
export class UnsupportedMediaTypeError extends TypeError {
  readonly mediaType: string | undefined;
  constructor(mediaType: string | undefined) {
    super(`unsupported manifest media type "${mediaType ?? "(none)"}"`);
    this.name = "UnsupportedMediaTypeError";
    this.mediaType = mediaType;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringRecord(value: unknown, what: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) throw new TypeError(`${what} must be an object`);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string") throw new TypeError(`${what}["${k}"] must be a string`);
  }
  return value as Record<string, string>;
}

/** Parses a descriptor, checking digest and size. */
export function parseDescriptor(value: unknown, what = "descriptor"): Descriptor {
  if (!isRecord(value)) throw new TypeError(`${what} must be an object`);
  const { mediaType, digest, size, platform, artifactType } = value;
  if (typeof mediaType !== "string") throw new TypeError(`${what}.mediaType must be a string`);
  if (typeof digest !== "string" || !isDigest(digest)) {
    throw new TypeError(`${what}.digest must be a sha256 digest`);
  }
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw new TypeError(`${what}.size must be a non-negative integer`);
  }
  const out: {
    mediaType: string;
    digest: Digest;
    size: number;
    annotations?: Record<string, string>;
    platform?: Platform;
    artifactType?: string;
  } = { mediaType, digest, size };
  const annotations = stringRecord(value.annotations, `${what}.annotations`);
  if (annotations) out.annotations = annotations;
  if (typeof artifactType === "string") out.artifactType = artifactType;
  if (platform !== undefined && platform !== null) {
    if (!isRecord(platform) || typeof platform.os !== "string" || typeof platform.architecture !== "string") {
      throw new TypeError(`${what}.platform must have os and architecture`);
    }
    out.platform = {
      os: platform.os,
      architecture: platform.architecture,
      ...(typeof platform.variant === "string" ? { variant: platform.variant } : {}),
    };
  }
  return out;
}

/**
 * Parses manifest JSON bytes. `contentType` (from the response) is used only when the document lacks a
 * mediaType, as Docker schema2 documents always carry one and OCI ones may not.
 */
export function parseManifest(bytes: Uint8Array, contentType?: string): AnyManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new TypeError(`manifest is not valid JSON: ${(err as Error).message}`);
  }
  if (!isRecord(doc)) throw new TypeError("manifest must be a JSON object");
  if (doc.schemaVersion !== 2) {
    throw new TypeError(`unsupported manifest schemaVersion ${String(doc.schemaVersion)}`);
  }
  const ct = contentType?.split(";")[0]?.trim();
  let mediaType = typeof doc.mediaType === "string" ? doc.mediaType : undefined;
  if (mediaType === undefined) {
    if (Array.isArray(doc.manifests)) mediaType = MEDIA_TYPES.OCI_INDEX;
    else if (Array.isArray(doc.layers)) mediaType = MEDIA_TYPES.OCI_MANIFEST;
    else mediaType = ct;
  }
  const annotations = stringRecord(doc.annotations, "manifest.annotations");
  const subject = doc.subject === undefined || doc.subject === null
    ? undefined
    : parseDescriptor(doc.subject, "subject");
  if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw new TypeError("index.manifests must be an array");
    return {
      kind: "index",
      mediaType: mediaType!,
      manifests: doc.manifests.map((m, i) => parseDescriptor(m, `manifests[${i}]`)),
      ...(subject ? { subject } : {}),
      ...(annotations ? { annotations } : {}),
    };
  }
  if (isImageManifestMediaType(mediaType)) {
    if (!Array.isArray(doc.layers)) throw new TypeError("manifest.layers must be an array");
    return {
      kind: "manifest",
      mediaType: mediaType!,
      config: parseDescriptor(doc.config, "config"),
      layers: doc.layers.map((l, i) => parseDescriptor(l, `layers[${i}]`)),
      ...(subject ? { subject } : {}),
      ...(typeof doc.artifactType === "string" ? { artifactType: doc.artifactType } : {}),
      ...(annotations ? { annotations } : {}),
    };
  }
  throw new UnsupportedMediaTypeError(mediaType);
}

/** Parses an image config blob. */
export function parseImageConfig(bytes: Uint8Array): ImageConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new TypeError(`image config is not valid JSON: ${(err as Error).message}`);
  }
  if (!isRecord(doc)) throw new TypeError("image config must be a JSON object");
  const config = isRecord(doc.config) ? doc.config : {};
  const strings = (v: unknown, what: string): string[] | null | undefined => {
    if (v === undefined || v === null) return v as null | undefined;
    if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) {
      throw new TypeError(`image config ${what} must be a list of strings`);
    }
    return v as string[];
  };
  return {
    ...(typeof doc.os === "string" ? { os: doc.os } : {}),
    ...(typeof doc.architecture === "string" ? { architecture: doc.architecture } : {}),
    ...(typeof doc.variant === "string" ? { variant: doc.variant } : {}),
    config: {
      Entrypoint: strings(config.Entrypoint, "Entrypoint"),
      Cmd: strings(config.Cmd, "Cmd"),
      Env: strings(config.Env, "Env"),
      ...(typeof config.WorkingDir === "string" ? { WorkingDir: config.WorkingDir } : {}),
      ...(typeof config.User === "string" ? { User: config.User } : {}),
      Labels: stringRecord(config.Labels, "Labels") ?? null,
    },
    ...(isRecord(doc.rootfs) && Array.isArray(doc.rootfs.diff_ids)
      ? { rootfs: { type: String(doc.rootfs.type), diff_ids: doc.rootfs.diff_ids.map(String) } }
      : {}),
  };
}

/**
 * Structural validation of a trusted_root.json (pure). @sigstore/verify treats a tlog key without
 * `validFor.start` as valid since 1970 and ignores other gaps; dz refuses such roots instead.
 */
import { DropzoneError } from "../errors.ts";

function bad(where: string, message: string): DropzoneError {
  return new DropzoneError("TRUSTED_ROOT_INVALID", `Cannot use trusted root${where}: ${message}`, {
    hint: "Point trusted_root at a trusted_root.json from your Sigstore deployment, or remove the override",
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkValidFor(v: unknown, what: string, where: string): void {
  const validFor = isRecord(v) ? v.validFor : undefined;
  if (!isRecord(validFor) || typeof validFor.start !== "string" || Number.isNaN(Date.parse(validFor.start))) {
    throw bad(where, `${what} has no valid "validFor.start"`);
  }
  // Protobuf JSON writes an unset end as null (or omits it): open-ended, still valid.
  if (
    validFor.end !== undefined && validFor.end !== null &&
    (typeof validFor.end !== "string" || Number.isNaN(Date.parse(validFor.end)))
  ) {
    throw bad(where, `${what} has an invalid "validFor.end"`);
  }
}

function checkLogs(list: unknown, field: string, where: string): void {
  if (list === undefined) return;
  if (!Array.isArray(list)) throw bad(where, `"${field}" must be a list`);
  list.forEach((log, i) => {
    const what = `${field}[${i}]`;
    if (!isRecord(log) || !isRecord(log.publicKey) || typeof log.publicKey.rawBytes !== "string") {
      throw bad(where, `${what} has no publicKey.rawBytes`);
    }
    if (!isRecord(log.logId) || typeof log.logId.keyId !== "string") {
      throw bad(where, `${what} has no logId.keyId`);
    }
    checkValidFor(log.publicKey, `${what}.publicKey`, where);
  });
}

function checkAuthorities(list: unknown, field: string, where: string): void {
  if (list === undefined) return;
  if (!Array.isArray(list)) throw bad(where, `"${field}" must be a list`);
  list.forEach((ca, i) => {
    const what = `${field}[${i}]`;
    const certs = isRecord(ca) && isRecord(ca.certChain) ? ca.certChain.certificates : undefined;
    if (
      !Array.isArray(certs) || certs.length === 0 ||
      certs.some((c) => !isRecord(c) || typeof c.rawBytes !== "string")
    ) {
      throw bad(where, `${what} has no certificate chain`);
    }
    checkValidFor(ca, what, where);
  });
}

/** Throws TRUSTED_ROOT_INVALID unless `root` is a well-formed trusted root. `source` names it in messages. */
export function validateTrustedRoot(root: unknown, source?: string): void {
  const where = source ? ` "${source}"` : "";
  if (!isRecord(root)) throw bad(where, "not a JSON object");
  if (
    typeof root.mediaType !== "string" ||
    !root.mediaType.startsWith("application/vnd.dev.sigstore.trustedroot")
  ) {
    throw bad(where, `unexpected mediaType "${String(root.mediaType)}"`);
  }
  checkLogs(root.tlogs, "tlogs", where);
  checkLogs(root.ctlogs, "ctlogs", where);
  checkAuthorities(root.certificateAuthorities, "certificateAuthorities", where);
  checkAuthorities(root.timestampAuthorities, "timestampAuthorities", where);
}

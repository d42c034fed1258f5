/**
 * Identity and issuer matching for cosign policies (pure). Regexes are always anchored to the whole string:
 * cosign's and sigstore-js' unanchored matching lets `github.com/org` accept `https://evil/github.com/org…`,
 * so user text is never handed to the library; dz compares the verified certificate fields itself.
 */
import type { CosignPolicy } from "./types.ts";

const SEVERITIES = ["critical", "high", "medium", "low", "none"] as const;

/** Compiles a user pattern anchored to the whole string; throws SyntaxError when it does not compile. */
export function anchoredRegExp(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`, "u");
}

/** True when `value` matches the exact string or the anchored regex (exactly one should be given). */
function matchField(
  value: string | undefined,
  exact: string | undefined,
  regex: string | undefined,
): boolean {
  if (value === undefined) return false;
  if (exact !== undefined) return value === exact;
  if (regex !== undefined) {
    try {
      return anchoredRegExp(regex).test(value);
    } catch {
      return false;
    }
  }
  return false;
}

/** Whether a verified certificate identity satisfies the keyless part of a policy. */
export function matchesKeylessPolicy(
  found: { identity: string | undefined; issuer: string | undefined },
  policy: CosignPolicy,
): boolean {
  const hasIssuerRule = policy.issuer !== undefined || policy.issuer_regex !== undefined;
  const hasIdentityRule = policy.identity !== undefined || policy.identity_regex !== undefined;
  if (!hasIssuerRule || !hasIdentityRule) return false;
  return matchField(found.issuer, policy.issuer, policy.issuer_regex) &&
    matchField(found.identity, policy.identity, policy.identity_regex);
}

/** "identity X, issuer Y" as the policy expects it, for error messages. */
export function describeExpected(policy: CosignPolicy): string {
  if (policy.public_key !== undefined) return `public key "${policy.public_key}"`;
  const identity = policy.identity !== undefined
    ? `"${policy.identity}"`
    : policy.identity_regex !== undefined
    ? `matching /^(?:${policy.identity_regex})$/`
    : "(none)";
  const issuer = policy.issuer !== undefined
    ? `"${policy.issuer}"`
    : policy.issuer_regex !== undefined
    ? `matching /^(?:${policy.issuer_regex})$/`
    : "(none)";
  return `identity ${identity}, issuer ${issuer}`;
}

/** Result of {@linkcode checkPolicyShape}. */
export interface PolicyShapeReport {
  readonly errors: string[];
  readonly warnings: string[];
}

/** Over-broad patterns: nothing but wildcards. */
const BROAD_REGEXP = /^(?:\^)?(?:\.[*+]|\\S[*+]|\[\^?\][*+])*(?:\$)?$/;

/** Dots between word characters that are not escaped, like the `.` in `github.com`. */
function unescapedLiteralDots(pattern: string): boolean {
  for (let i = 1; i < pattern.length - 1; i++) {
    if (pattern[i] !== ".") continue;
    let backslashes = 0;
    for (let j = i - 1; j >= 0 && pattern[j] === "\\"; j--) backslashes++;
    if (backslashes % 2 === 1) continue;
    if (/[A-Za-z0-9]/.test(pattern[i - 1]!) && /[A-Za-z0-9]/.test(pattern[i + 1]!)) return true;
  }
  return false;
}

function checkRegex(field: string, pattern: string, errors: string[], warnings: string[]): void {
  try {
    anchoredRegExp(pattern);
  } catch (err) {
    errors.push(`${field} "${pattern}" is not a valid regular expression: ${(err as Error).message}`);
    return;
  }
  if (pattern.trim() === "" || BROAD_REGEXP.test(pattern)) {
    warnings.push(`${field} "${pattern}" matches any value; name the expected signer`);
  } else if (/^(?:\^)?\.[*+]/.test(pattern)) {
    warnings.push(`${field} "${pattern}" starts with a wildcard and accepts any prefix`);
  }
  if (unescapedLiteralDots(pattern)) {
    warnings.push(
      `${field} "${pattern}" has unescaped dots, which match any character; write "\\." for a dot`,
    );
  }
  if (pattern.startsWith("^") || pattern.endsWith("$")) {
    warnings.push(`${field} "${pattern}": "^" and "$" are unnecessary, dz always matches the whole value`);
  }
}

/** Validates a policy as config and `add registry` need: errors make it unusable, warnings are advice. */
export function checkPolicyShape(policy: CosignPolicy): PolicyShapeReport {
  const errors: string[] = [];
  const warnings: string[] = [];
  if (policy.issuer !== undefined && policy.issuer_regex !== undefined) {
    errors.push("issuer and issuer_regex are mutually exclusive");
  }
  if (policy.identity !== undefined && policy.identity_regex !== undefined) {
    errors.push("identity and identity_regex are mutually exclusive");
  }
  const keyless = policy.issuer !== undefined || policy.issuer_regex !== undefined ||
    policy.identity !== undefined || policy.identity_regex !== undefined;
  if (policy.public_key !== undefined) {
    if (policy.public_key.trim() === "") errors.push("public_key must be a path to a PEM public key");
    if (keyless) warnings.push("public_key is set, so identity and issuer rules are ignored");
  } else {
    if (policy.issuer === undefined && policy.issuer_regex === undefined) {
      errors.push("a keyless policy needs issuer or issuer_regex");
    }
    if (policy.identity === undefined && policy.identity_regex === undefined) {
      errors.push("a keyless policy needs identity or identity_regex");
    }
  }
  if (policy.issuer !== undefined && !/^https?:\/\/\S+$/.test(policy.issuer)) {
    warnings.push(`issuer "${policy.issuer}" is not a URL; OIDC issuers usually are`);
  }
  if (policy.issuer_regex !== undefined) checkRegex("issuer_regex", policy.issuer_regex, errors, warnings);
  if (policy.identity_regex !== undefined) {
    checkRegex("identity_regex", policy.identity_regex, errors, warnings);
  }
  if (
    policy.max_vulnerability_severity !== undefined &&
    !(SEVERITIES as readonly string[]).includes(policy.max_vulnerability_severity)
  ) {
    errors.push(`max_vulnerability_severity must be one of ${SEVERITIES.join(", ")}`);
  }
  if (policy.trusted_root !== undefined && policy.trusted_root.trim() === "") {
    errors.push("trusted_root must be a path to a trusted_root.json");
  }
  return { errors, warnings };
}

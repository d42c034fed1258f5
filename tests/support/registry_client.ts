/** A registry client for tests (no real sleeping, short timeouts) and assertions on registry errors. */
import assert from "node:assert/strict";
import { createRegistryClient, type RegistryClientOptions } from "../../src/registry/client.ts";
import type { Credential } from "../../src/registry/types.ts";
import { DropzoneError, type ErrorCode } from "../../src/errors.ts";

/** A client for tests: no real sleeping (delays are recorded), short timeouts. */
export function testClient(
  options: Partial<RegistryClientOptions> & { credential?: Credential } = {},
): { client: ReturnType<typeof createRegistryClient>; sleeps: number[] } {
  const sleeps: number[] = [];
  const { credential, ...rest } = options;
  const client = createRegistryClient({
    fetch: globalThis.fetch,
    userAgent: "dz-test/1.0",
    credentials: () => Promise.resolve(credential),
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    timeoutMs: 5_000,
    ...rest,
  });
  return { client, sleeps };
}

/** Asserts that `promise` rejects with a one-line DropzoneError of `code` whose message names `registry`. */
export async function assertRegistryError(
  promise: Promise<unknown>,
  code: ErrorCode,
  registry: string,
  includes: string[] = [],
): Promise<DropzoneError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof DropzoneError, `expected DropzoneError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.ok(caught.message.includes(registry), `message should name ${registry}: ${caught.message}`);
  assert.ok(!caught.message.includes("\n"), "message must be one line");
  for (const text of includes) {
    assert.ok(caught.message.includes(text), `expected "${text}" in: ${caught.message}`);
  }
  return caught;
}

/** Asserts that `promise` rejects with a one-line DropzoneError of `code` (matching `pattern`); returns it. */
export async function rejectsCode(
  promise: Promise<unknown>,
  code: ErrorCode,
  pattern?: RegExp,
): Promise<DropzoneError> {
  const err = await promise.then(() => undefined, (e) => e);
  assert.ok(err instanceof DropzoneError, `expected ${code}, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  assert.ok(!err.message.includes("\n"), "one line");
  if (pattern) assert.match(err.message, pattern);
  return err;
}

/** Reads a stream fully. */
export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

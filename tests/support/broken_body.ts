/** A response body for the test servers that breaks off mid-transfer, as a dropped connection does. */

/**
 * Sends the first half of `bytes`, waits `delayMs` (so the half reaches the client first), then fails with
 * `error`: the server aborts the connection.
 */
export function halfThenBreak(bytes: Uint8Array, error: Error, delayMs: number): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    async pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(bytes.slice(0, Math.floor(bytes.length / 2)));
        return;
      }
      await new Promise((r) => setTimeout(r, delayMs));
      controller.error(error);
    },
  });
}

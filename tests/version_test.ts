import assert from "node:assert/strict";
import { USER_AGENT, VERSION } from "../src/version.ts";

Deno.test("VERSION is deno.json's version, a semantic version", async () => {
  const deno = JSON.parse(await Deno.readTextFile("deno.json")) as { version: string };
  assert.equal(VERSION, deno.version);
  assert.match(VERSION, /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/);
});

Deno.test("USER_AGENT starts with dz/<version> and is a valid header value", () => {
  assert.ok(USER_AGENT.startsWith(`dz/${VERSION} `), USER_AGENT);
  assert.equal(new Headers({ "user-agent": USER_AGENT }).get("user-agent"), USER_AGENT);
});

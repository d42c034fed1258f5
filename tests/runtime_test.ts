import assert from "node:assert/strict";
import { ociHost } from "../src/runtime.ts";

Deno.test("ociHost() maps Deno.build names to OCI platform names", async (t) => {
  const cases: [string, string, { os: string; arch: string }][] = [
    ["linux", "x86_64", { os: "linux", arch: "amd64" }],
    ["linux", "aarch64", { os: "linux", arch: "arm64" }],
    ["darwin", "aarch64", { os: "darwin", arch: "arm64" }],
    ["darwin", "x86_64", { os: "darwin", arch: "amd64" }],
    ["linux", "riscv64", { os: "linux", arch: "riscv64" }],
  ];
  for (const [os, arch, expected] of cases) {
    await t.step(`${os}/${arch}`, () => assert.deepEqual(ociHost(os, arch), expected));
  }
});

/** Runs `body` with `rt = denoRuntime()` in a fresh process with piped stdio. */
async function child(body: string, options: { stdin?: string; env?: Record<string, string> } = {}) {
  const script = `
    import { denoRuntime } from "${import.meta.resolve("../src/runtime.ts")}";
    const rt = denoRuntime();
    ${body}
  `;
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    ...(options.env ? { env: options.env } : {}),
  }).spawn();
  const writer = proc.stdin.getWriter();
  if (options.stdin) await writer.write(new TextEncoder().encode(options.stdin));
  await writer.close();
  const out = await proc.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("denoRuntime() on pipes: whole writes, no terminal, no prompt, stdin read fully", async () => {
  const big = 300_000;
  const { code, stdout, stderr } = await child(
    `
    rt.stdout.write("x".repeat(${big}) + "\\n");
    const facts = {
      stdoutTerminal: rt.stdout.isTerminal,
      stdinTerminal: rt.stdinIsTerminal,
      columns: rt.stdout.columns?.() ?? null,
      prompt: await rt.prompt("Password: ", { secret: true }),
      stdin: await rt.readStdin(),
      home: rt.homeDir,
      env: rt.env("DZ_RUNTIME_TEST") ?? null,
      host: rt.host,
      aborted: rt.signal?.aborted,
    };
    rt.stderr.write(JSON.stringify(facts));
    Deno.exit(0);
  `,
    { stdin: "secret input\nsecond line", env: { HOME: "/home/tester", DZ_RUNTIME_TEST: "on" } },
  );
  assert.equal(code, 0, stderr);
  assert.equal(stdout.length, big + 1, "a large write to a pipe arrives whole");
  const facts = JSON.parse(stderr);
  assert.deepEqual(facts, {
    stdoutTerminal: false,
    stdinTerminal: false,
    columns: null,
    prompt: null,
    stdin: "secret input\nsecond line",
    home: "/home/tester",
    env: "on",
    host: ociHost(Deno.build.os, Deno.build.arch),
    aborted: false,
  });
  assert.ok(!stderr.includes("Password"), "no prompt is printed when stdin is not a terminal");
});

Deno.test("denoRuntime() aborts its signal on SIGINT, then exits 130 with one line after the grace period", async () => {
  const { code, stdout, stderr } = await child(`
    rt.signal.addEventListener("abort", () => {
      rt.stdout.write("aborted:" + rt.signal.reason.name + "\\n");
    });
    Deno.kill(Deno.pid, "SIGINT");
    await new Promise((r) => setTimeout(r, 10_000));
    rt.stdout.write("not reached\\n");
  `);
  assert.equal(code, 130, stderr);
  assert.equal(stdout, "aborted:AbortError\n");
  assert.equal(stderr, "error: interrupted; stopped and removed partial work\n");
});

Deno.test("denoRuntime() cleans up and exits at once on a second signal, and says terminated for SIGTERM", async () => {
  const { code, stdout, stderr } = await child(`
    const { onInterrupt } = await import("${import.meta.resolve("../src/interrupt.ts")}");
    let secondAt = 0;
    onInterrupt(async () => {
      rt.stdout.write("cleanup " + Math.round(performance.now() - secondAt) + "\\n");
    });
    Deno.kill(Deno.pid, "SIGTERM");
    await new Promise((r) => setTimeout(r, 50));
    secondAt = performance.now();
    Deno.kill(Deno.pid, "SIGTERM");
    await new Promise((r) => setTimeout(r, 10_000));
  `);
  assert.equal(code, 130, stderr);
  assert.equal(stderr, "error: terminated; stopped and removed partial work\n");
  const ms = Number(/^cleanup (\d+)\n$/.exec(stdout)?.[1]);
  // The grace period is 500 ms from the first signal; the second signal must not wait for it.
  assert.ok(ms < 300, `cleanup ran ${ms} ms after the second signal: ${stdout}`);
});

Deno.test("denoRuntime() on a terminal: knows the width, prompts, and does not echo a secret", async () => {
  const script = `
    import { denoRuntime } from "${import.meta.resolve("../src/runtime.ts")}";
    const rt = denoRuntime();
    const plain = await rt.prompt("Username: ");
    const secret = await rt.prompt("Password: ", { secret: true });
    rt.stdout.write(JSON.stringify({ terminal: rt.stdout.isTerminal, columns: rt.stdout.columns?.(), plain, secret }) + "\\n");
  `;
  const command = [Deno.execPath(), "eval", "--no-check", script].map((s) => `'${s.replace(/'/g, `'\\''`)}'`)
    .join(" ");
  const child = new Deno.Command("script", {
    args: ["-q", "-e", "-c", `stty cols 77 rows 20; exec ${command}`, "/dev/null"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const decoder = new TextDecoder();
  let output = "";
  const answers: [string, string][] = [["Username: ", "alice\r"], ["Password: ", "hunter2\r"]];
  const reader = child.stdout.getReader();
  const deadline = setTimeout(() => child.kill("SIGKILL"), 30_000);
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      output += decoder.decode(value, { stream: true });
      // Answer each question only once it is on the screen, so raw mode is already on for the secret.
      if (answers.length && output.includes(answers[0]![0])) {
        await new Promise((r) => setTimeout(r, 100));
        await writer.write(new TextEncoder().encode(answers.shift()![1]));
        if (!answers.length) await writer.close();
      }
    }
  } finally {
    clearTimeout(deadline);
  }
  const status = await child.status;
  await child.stderr.cancel();
  assert.equal(status.code, 0, output);
  const result = JSON.parse(/\{.*\}/.exec(output)?.[0] ?? "null");
  assert.deepEqual(result, { terminal: true, columns: 77, plain: "alice", secret: "hunter2" });
  assert.ok(output.includes("alice"), "the plain answer is echoed by the terminal");
  assert.equal(
    output.split("hunter2").length - 1,
    1,
    `the secret appears only in the result line: ${JSON.stringify(output)}`,
  );
});

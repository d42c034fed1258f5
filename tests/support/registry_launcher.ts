/**
 * Starts Debian's CNCF distribution registry (`docker-registry serve config.yml`) on 127.0.0.1 on a free port,
 * with its own storage, optionally behind htpasswd basic auth, optionally as a pull-through cache (`proxy:`
 * mode) of another registry, optionally keeping its access log. Use with `await using`.
 */

/** A running registry. */
export interface LaunchedRegistry extends AsyncDisposable {
  /** host:port, e.g. "127.0.0.1:41234". */
  readonly host: string;
  /** http://host:port */
  readonly url: string;
  readonly dir: string;
  readonly credentials?: { username: string; password: string };
  /** With `accessLog`: every request served so far, in order (parsed from the Combined Log Format). */
  requests(): LoggedRequest[];
  stop(): Promise<void>;
}

/** One access-log line. */
export interface LoggedRequest {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly userAgent: string;
}

/** Options for {@linkcode launchRegistry}. */
export interface LaunchOptions {
  /** Protect the registry with htpasswd basic auth for this user. */
  auth?: { username: string; password: string };
  /** Run as a pull-through cache of this registry URL (`proxy: remoteurl:`); it must already be up. */
  proxy?: { remoteUrl: string };
  /** Keep the access log (Combined Log Format on stdout) for {@linkcode LaunchedRegistry.requests}. */
  accessLog?: boolean;
}

/** Appends each line of `stream` to `lines` until it ends. */
async function collectLines(stream: ReadableStream<Uint8Array>, lines: string[]): Promise<void> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop() ?? "";
    lines.push(...parts);
  }
  if (rest) lines.push(rest);
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function htpasswdLine(username: string, password: string): Promise<string> {
  const out = await new Deno.Command("htpasswd", {
    args: ["-Bbn", username, password],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) throw new Error(`htpasswd failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).trim() + "\n";
}

/** Starts a registry and waits until /v2/ answers. */
export async function launchRegistry(options: LaunchOptions = {}): Promise<LaunchedRegistry> {
  const dir = await Deno.makeTempDir({ prefix: "dz-registry-" });
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = freePort();
    const host = `127.0.0.1:${port}`;
    let authBlock = "";
    if (options.auth) {
      await Deno.writeTextFile(
        `${dir}/htpasswd`,
        await htpasswdLine(options.auth.username, options.auth.password),
      );
      authBlock = `auth:\n  htpasswd:\n    realm: dz-test\n    path: ${dir}/htpasswd\n`;
    }
    const proxyBlock = options.proxy ? `proxy:\n  remoteurl: ${options.proxy.remoteUrl}\n` : "";
    const config = `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: ${!options.accessLog}\n` +
      `storage:\n  filesystem:\n    rootdirectory: ${dir}/data\n  delete:\n    enabled: true\n` +
      `http:\n  addr: ${host}\n${authBlock}${proxyBlock}`;
    await Deno.writeTextFile(`${dir}/config.yml`, config);
    const child = new Deno.Command("docker-registry", {
      args: ["serve", `${dir}/config.yml`],
      stdout: options.accessLog ? "piped" : "null",
      stderr: "piped",
    }).spawn();
    const stderrText = new Response(child.stderr).text();
    const logLines: string[] = [];
    const stdoutDone = options.accessLog ? collectLines(child.stdout, logLines) : Promise.resolve();
    const deadline = Date.now() + 10_000;
    let up = false;
    while (Date.now() < deadline) {
      try {
        const res = await fetch(`http://${host}/v2/`);
        await res.body?.cancel();
        if (res.status === 200 || res.status === 401) {
          up = true;
          break;
        }
      } catch (err) {
        lastError = err;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!up) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
      await stdoutDone;
      lastError = new Error(`registry did not start on ${host}: ${await stderrText}`);
      continue;
    }
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
      await stderrText;
      await stdoutDone;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    };
    return {
      host,
      url: `http://${host}`,
      dir,
      ...(options.auth ? { credentials: options.auth } : {}),
      requests: () =>
        logLines.flatMap((line) => {
          const m = /"([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3}) \S+ "[^"]*" "([^"]*)"/.exec(line);
          return m ? [{ method: m[1]!, path: m[2]!, status: Number(m[3]), userAgent: m[4]! }] : [];
        }),
      stop,
      [Symbol.asyncDispose]: stop,
    };
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

/**
 * Starts Debian's CNCF distribution registry (`docker-registry serve config.yml`) on 127.0.0.1 on a free port,
 * with its own storage, optionally behind htpasswd basic auth. Use with `await using`.
 */

/** A running registry. */
export interface LaunchedRegistry extends AsyncDisposable {
  /** host:port, e.g. "127.0.0.1:41234". */
  readonly host: string;
  /** http://host:port */
  readonly url: string;
  readonly dir: string;
  readonly credentials?: { username: string; password: string };
  stop(): Promise<void>;
}

/** Options for {@linkcode launchRegistry}. */
export interface LaunchOptions {
  /** Protect the registry with htpasswd basic auth for this user. */
  auth?: { username: string; password: string };
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
    const config = `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n` +
      `  filesystem:\n    rootdirectory: ${dir}/data\n  delete:\n    enabled: true\n` +
      `http:\n  addr: ${host}\n${authBlock}`;
    await Deno.writeTextFile(`${dir}/config.yml`, config);
    const child = new Deno.Command("docker-registry", {
      args: ["serve", `${dir}/config.yml`],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderrText = new Response(child.stderr).text();
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
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    };
    return {
      host,
      url: `http://${host}`,
      dir,
      ...(options.auth ? { credentials: options.auth } : {}),
      stop,
      [Symbol.asyncDispose]: stop,
    };
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

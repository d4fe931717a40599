/**
 * @module launcher/providers/kubectl_runner
 * The command runner for Kubernetes pods: `kubectl exec`, as Ray's KubernetesCommandRunner. A
 * command runs as `kubectl -n NS exec -i POD -- bash --login -s` with the script (environment
 * included) on stdin, so secrets stay off every command line, here and in the pod. Files move as
 * a tar stream through `kubectl exec` (what `kubectl cp` does underneath), which needs only tar
 * in the container, not rsync; `rsync_exclude` patterns become tar excludes and `rsync_filter`
 * files (.gitignore) become GNU tar's `--exclude-ignore`.
 *
 * Port forwarding is not offered, as in Ray: a pod's ports are reached through a Service or
 * `kubectl port-forward`.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CommandFailedError, ProviderError } from "../../common/errors.ts";
import type { CommandRunner, RunOptions, RunResult, RunnerContext } from "../provider.ts";
import { commandScript, runLocal, shQuote } from "../runners.ts";

export interface KubectlTarget {
  namespace: string;
  pod: string;
  /** The container of the pod; kubectl's default (the first, or the annotated default) when unset. */
  container?: string;
  kubeconfig?: string;
  context?: string;
  /** The kubectl binary. Default: $STINGRAY_KUBECTL, else `kubectl` on PATH. */
  kubectl?: string;
}

function expandHome(p: string): string {
  return p === "~" ? os.homedir() : p.startsWith("~/") ? path.join(os.homedir(), p.slice(2)) : p;
}

/** A remote path for sh: quoted, but with a leading ~/ left for the shell to expand. */
function remotePath(p: string): string {
  if (p === "~") return "~";
  return p.startsWith("~/") ? `~/${shQuote(p.slice(2))}` : shQuote(p);
}

let gnuTar: boolean | undefined;
/** GNU tar reads per-directory ignore files (--exclude-ignore); bsdtar (macOS) does not. */
function localTarIsGnu(): boolean {
  if (gnuTar === undefined) {
    try {
      gnuTar = execFileSync("tar", ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).includes("GNU tar");
    } catch {
      gnuTar = false;
    }
  }
  return gnuTar;
}

export function kubectlRunner(opts: KubectlTarget & { ctx: RunnerContext }): CommandRunner {
  const { ctx, namespace, pod } = opts;
  const kubectl = opts.kubectl ?? process.env.STINGRAY_KUBECTL ?? "kubectl";
  const base = [
    kubectl,
    ...(opts.kubeconfig ? ["--kubeconfig", expandHome(opts.kubeconfig)] : []),
    ...(opts.context ? ["--context", opts.context] : []),
    "-n", namespace,
  ];
  const exec = (flags: string[], cmd: string[]): string[] =>
    [...base, "exec", ...flags, pod, ...(opts.container ? ["-c", opts.container] : []), "--", ...cmd];
  const description = `${namespace}/${pod}`;
  let warnedFilter = false;

  const excludes = (o: { exclude?: string[]; filter?: string[] }, gnu: boolean): string[] => {
    const out = (o.exclude ?? []).map((e) => `--exclude=${e}`);
    if (o.filter?.length) {
      if (gnu) out.push(...o.filter.map((f) => `--exclude-ignore=${f}`));
      else if (!warnedFilter) {
        warnedFilter = true;
        ctx.log(`rsync_filter (${o.filter.join(", ")}) is not applied when copying to ${description}: this machine's tar is not GNU tar`);
      }
    }
    return out;
  };

  /** Run a local shell pipeline (kubectl on one side, tar on the other); fail with its stderr. */
  const pipeline = async (what: string, script: string): Promise<void> => {
    const r = await runLocal(["bash", "-c", `set -o pipefail\n${script}`], { capture: true });
    if (r.code !== 0) throw new CommandFailedError(`${what} failed (exit ${r.code}): ${r.stderr.trim()}`);
  };
  const q = (argv: string[]): string => argv.map(shQuote).join(" ");

  return {
    description,
    async run(cmd: string, o: RunOptions = {}): Promise<RunResult> {
      if (o.portForward?.length) {
        throw new ProviderError(`port forwarding is not supported for Kubernetes nodes (as in Ray): use \`kubectl -n ${namespace} port-forward ${pod} ${o.portForward.map(([l, r]) => `${l}:${r}`).join(" ")}\` or a Service`);
      }
      if (o.interactive) {
        // The terminal is the command's stdin, so the command goes in argv; callers pass no
        // secret variables to interactive commands.
        const exports = Object.entries(o.env ?? {}).map(([k, v]) => `export ${k}=${shQuote(v)}; `).join("");
        return runLocal(exec(["-it"], ["bash", "--login", "-c", `${exports}${cmd}`]), { interactive: true, timeoutMs: o.timeoutMs });
      }
      return runLocal(exec(["-i"], ["bash", "--login", "-s"]), {
        input: commandScript(cmd, o.env), capture: o.captureOutput, log: o.captureOutput ? undefined : ctx.log, timeoutMs: o.timeoutMs,
      });
    },

    async rsyncUp(source: string, target: string, o = {}): Promise<void> {
      const local = expandHome(source);
      let st: fs.Stats;
      try {
        st = fs.statSync(local);
      } catch (e) {
        throw new CommandFailedError(`copy to ${description}: ${source} does not exist`, { cause: e });
      }
      const what = `copy ${source} → ${description}:${target}`;
      if (st.isDirectory()) {
        // rsync semantics: "dir/" copies the contents into target, "dir" copies dir itself into target.
        const contents = source.endsWith("/");
        const dir = contents ? local : path.dirname(path.resolve(local));
        const entry = contents ? "." : path.basename(path.resolve(local));
        const dest = remotePath(target.replace(/(.)\/+$/, "$1"));
        const tar = q(["tar", "-C", dir, ...excludes(o, localTarIsGnu()), "-czf", "-", entry]);
        const remote = q(exec(["-i"], ["sh", "-c", `mkdir -p ${dest} && tar -xzf - -C ${dest} --no-same-owner`]));
        await pipeline(what, `${tar} | ${remote}`);
        return;
      }
      const file = target.endsWith("/") ? `${target}${path.basename(local)}` : target;
      const dir = target.endsWith("/") ? target : path.posix.dirname(target);
      const mode = (st.mode & 0o777).toString(8);
      const remote = q(exec(["-i"], ["sh", "-c", `mkdir -p ${remotePath(dir)} && cat > ${remotePath(file)} && chmod ${mode} ${remotePath(file)}`]));
      await pipeline(what, `${remote} < ${shQuote(local)}`);
    },

    async rsyncDown(source: string, target: string, o = {}): Promise<void> {
      const contents = source.endsWith("/");
      const src = source.replace(/(.)\/+$/, "$1");
      const dir = contents ? src : path.posix.dirname(src);
      const entry = contents ? "." : path.posix.basename(src);
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stingray-kcp-"));
      try {
        // Excludes go to the pod's tar; rsync_filter files are not applied on the way down.
        const remoteTar = `cd ${remotePath(dir)} && tar ${(o.exclude ?? []).map((e) => shQuote(`--exclude=${e}`)).join(" ")} -czf - ${shQuote(entry)}`;
        await pipeline(`copy ${description}:${source} → ${target}`,
          `${q(exec([], ["sh", "-c", remoteTar]))} | ${q(["tar", "-xzf", "-", "-C", tmp])}`);
        const dest = expandHome(target);
        if (contents) {
          fs.mkdirSync(dest, { recursive: true });
          fs.cpSync(tmp, dest, { recursive: true });
          return;
        }
        const got = path.join(tmp, entry);
        const into = target.endsWith("/") || (fs.existsSync(dest) && fs.statSync(dest).isDirectory());
        if (fs.statSync(got).isDirectory()) {
          fs.mkdirSync(dest, { recursive: true });
          fs.cpSync(got, path.join(dest, entry), { recursive: true });
        } else {
          const out = into ? path.join(dest, entry) : dest;
          fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
          fs.copyFileSync(got, out);
          fs.chmodSync(out, fs.statSync(got).mode & 0o777);
        }
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    },
  };
}

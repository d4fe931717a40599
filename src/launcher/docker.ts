/**
 * @module launcher/docker
 * Running a node inside a container (the config's `docker:` section), as Ray's DockerCommandRunner
 * does: the container is started once per node (`run --net=host`, so Stingray's ports are the
 * host's), every setup and start command then runs in it through `<engine> exec`, and file mounts
 * are copied to the host first and then into the container. The engine is `docker` or `podman`
 * (`use_podman: true` or `engine: podman`); both take the same arguments here.
 */
import path from "node:path";
import { CommandFailedError } from "../common/errors.ts";
import type { CommandRunner, RunOptions, RunResult } from "./provider.ts";
import type { DockerConfig, NodeKind } from "./types.ts";
import { shQuote } from "./runners.ts";

export interface ContainerSpec { engine: string; name: string; image: string; runOptions: string[]; pull: boolean }

/** The image and run options a node of `kind` uses (head_/worker_ variants win, as in Ray). */
export function containerSpec(docker: DockerConfig, kind: NodeKind): ContainerSpec {
  const image = (kind === "head" ? docker.head_image : docker.worker_image) ?? docker.image;
  if (!image) throw new CommandFailedError(`docker: no image for the ${kind} node: set docker.image (or docker.${kind}_image)`);
  return {
    engine: docker.engine || "docker",
    name: docker.container_name,
    image,
    runOptions: [...docker.run_options, ...(kind === "head" ? docker.head_run_options : docker.worker_run_options)],
    pull: docker.pull_before_run,
  };
}

/**
 * The engine as a shell word list: `engine` may carry global options (e.g.
 * `podman --root /data/containers`), so it is split on spaces and each word quoted.
 */
export function engineCommand(engine: string): string {
  return engine.trim().split(/\s+/).map(shQuote).join(" ");
}

/**
 * The host commands that start the container (Ray's `docker run --rm -d -it --net=host ... bash`).
 * Each run option is shell text, joined with spaces as Ray does, so `--ulimit nofile=65536:65536`
 * or `-v /data:/data` may be one list item (quoting each item whole would hand the engine a
 * single word `--ulimit nofile=...` that it rejects).
 */
export function containerRunCommand(spec: ContainerSpec, mounts: Record<string, string> = {}): string {
  const vol = Object.entries(mounts).flatMap(([inside, host]) => ["-v", `${host}:${inside}`]);
  return [engineCommand(spec.engine), ...["run", "--rm", "--name", spec.name, "-d", "-it", "--net=host",
    "-e", "LC_ALL=C.UTF-8", "-e", "LANG=C.UTF-8", ...vol].map(shQuote), ...spec.runOptions.map((o) => o.trim()).filter(Boolean),
  shQuote(spec.image), "bash"].join(" ");
}

/** Staging directory on the host for file mounts on their way into the container. */
export function hostStagingDir(clusterName: string): string {
  return `/tmp/stingray_tmp_mount/${clusterName}`;
}

/**
 * Wrap a host runner so commands run inside the node's container. `ensureContainer()` must be
 * called (by the updater) before the first command: it pulls if asked, and starts the container
 * unless one with that name already runs that image.
 */
export function dockerRunner(host: CommandRunner, spec: ContainerSpec, clusterName: string):
  CommandRunner & { ensureContainer(log: (l: string) => void): Promise<void>; stopContainer(): Promise<void> } {
  const e = engineCommand(spec.engine), name = shQuote(spec.name);
  const staging = hostStagingDir(clusterName);
  const runner = {
    description: `${spec.name} on ${host.description}`,
    async ensureContainer(log: (l: string) => void): Promise<void> {
      const running = await host.run(`${e} inspect -f '{{.State.Running}} {{.Config.Image}}' ${name} 2>/dev/null || true`, { captureOutput: true });
      const [state, image] = running.stdout.trim().split(" ");
      if (state === "true") {
        if (image && image !== spec.image && !image.endsWith(`/${spec.image}`) && image !== `${spec.image}:latest` && !image.endsWith(`/${spec.image}:latest`)) {
          log(`container ${spec.name} runs image ${image}, the config asks for ${spec.image}: restarting it`);
          await host.run(`${e} rm -f ${name}`, { captureOutput: true });
        } else {
          return;
        }
      }
      if (spec.pull) {
        const p = await host.run(`${e} pull ${shQuote(spec.image)}`);
        if (p.code !== 0) throw new CommandFailedError(`${spec.engine} pull ${spec.image} failed on ${host.description} (exit ${p.code}); check the image name, or set docker.pull_before_run: false to use a local image`);
      }
      await host.run(`${e} rm -f ${name} >/dev/null 2>&1 || true`, { captureOutput: true });
      const r = await host.run(containerRunCommand(spec), { captureOutput: true });
      if (r.code !== 0) throw new CommandFailedError(`starting container ${spec.name} on ${host.description} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
      log(`container ${spec.name} started from ${spec.image}`);
    },
    async stopContainer(): Promise<void> {
      await host.run(`${e} rm -f ${name} >/dev/null 2>&1 || true`, { captureOutput: true });
    },
    async run(cmd: string, o: RunOptions = {}): Promise<RunResult> {
      if (o.runOnHost) return host.run(cmd, o);
      // Variables are named on the exec line and take their values from the host shell's
      // environment, which the host runner set from stdin: values never reach an argv.
      const names = Object.keys(o.env ?? {}).flatMap((k) => ["-e", k]).join(" ");
      const inner = o.interactive
        ? `${e} exec -it ${names} ${name} bash --login -c ${shQuote(cmd)}`
        : `${e} exec -i ${names} ${name} bash --login -c ${shQuote(cmd)}`;
      return host.run(inner, o);
    },
    async rsyncUp(source: string, target: string, o: { exclude?: string[]; filter?: string[]; runOnHost?: boolean } = {}): Promise<void> {
      if (o.runOnHost) return host.rsyncUp(source, target, o);
      const rel = target.replace(/^~\//, "home/").replace(/^\/+/, "").replace(/\/+$/, "");
      const stage = path.posix.join(staging, rel);
      await host.rsyncUp(source, stage + (target.endsWith("/") ? "/" : ""), o);
      const dst = target.endsWith("/") ? target.slice(0, -1) : target;
      const dstExpr = dst.startsWith("~/") ? `$(${e} exec ${name} printenv HOME)/${dst.slice(2)}` : dst;
      const r = await host.run(`D=${dstExpr.startsWith("$(") ? `"${dstExpr}"` : shQuote(dstExpr)} && ${e} exec ${name} mkdir -p "$(dirname "$D")" && ` +
        `if [ -d ${shQuote(stage)} ]; then ${e} exec ${name} mkdir -p "$D" && ${e} cp ${shQuote(stage)}/. ${name}:"$D"; ` +
        `else ${e} cp ${shQuote(stage)} ${name}:"$D"; fi`, { captureOutput: true });
      if (r.code !== 0) throw new CommandFailedError(`copying ${source} into container ${spec.name} at ${target} failed: ${r.stderr.trim()}`);
    },
    async rsyncDown(source: string, target: string, o: { exclude?: string[]; filter?: string[]; runOnHost?: boolean } = {}): Promise<void> {
      if (o.runOnHost) return host.rsyncDown(source, target, o);
      const stage = path.posix.join(staging, "down", path.posix.basename(source.replace(/\/$/, "")) || "root");
      const src = source.replace(/\/$/, "");
      const srcExpr = src.startsWith("~/") ? `"$(${e} exec ${name} printenv HOME)/${src.slice(2)}"` : shQuote(src);
      const r = await host.run(`rm -rf ${shQuote(stage)} && mkdir -p ${shQuote(path.posix.dirname(stage))} && ${e} cp ${name}:${srcExpr} ${shQuote(stage)}`, { captureOutput: true });
      if (r.code !== 0) throw new CommandFailedError(`copying ${source} out of container ${spec.name} failed: ${r.stderr.trim()}`);
      await host.rsyncDown(stage + (source.endsWith("/") ? "/" : ""), target, o);
    },
  };
  return runner;
}

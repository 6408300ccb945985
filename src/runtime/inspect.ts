/**
 * `inspect` of a container in docker's JSON shape (the fields scripts read:
 * Id, Name, State, Config, HostConfig, Image, …).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Spec } from "../oci/runtime.ts";
import type { ContainerRecord } from "./container-store.ts";
import { logFileOf, stateDirOf } from "./container.ts";
import { readLiveState } from "./state.ts";
import { inspectMounts } from "../volume/inspect-mounts.ts";
import { portsForInspect } from "../network/ports.ts";
import { readPorts } from "../network/slirp.ts";
import { containerNetworksForInspect } from "../network/manage.ts";

const ZERO_TIME = "0001-01-01T00:00:00Z";

function iso(ms: number | undefined): string {
  return ms ? new Date(ms).toISOString() : ZERO_TIME;
}

/** The bundle's config.json: what the shim was told (settings the record does not keep). */
function bundleSpec(rec: ContainerRecord): Partial<Spec> {
  try {
    return JSON.parse(readFileSync(join(rec.bundle, "config.json"), "utf8")) as Partial<Spec>;
  } catch {
    return {};
  }
}

export function inspectContainer(rec: ContainerRecord): Record<string, unknown> {
  const s = readLiveState(stateDirOf(rec.id));
  const running = s.status === "running";
  const restart = rec.restartPolicy ?? "no";
  const [policyName, retries] = restart.split(":");
  const cfg = rec.config;
  return {
    Id: rec.id,
    Created: rec.created,
    Path: rec.command[0] ?? "",
    Args: rec.command.slice(1),
    State: {
      Status: s.status === "stopped" ? "exited" : running && s.paused ? "paused" : s.status,
      Running: running,
      Paused: running && (s.paused ?? false),
      // No freezer cgroup belongs to a rootless user here: pause stops each process.
      PauseMethod: "sigstop",
      Restarting: s.status === "restarting",
      // No memory cgroup is ours (rootless, cgroup v1): an OOM kill cannot be told from another SIGKILL.
      OOMKilled: false,
      // podman's name: ctr stop or ctr kill ended it, rather than a signal of its own making.
      StoppedByUser: s.status === "exited" && (s.killedByUser === true || s.stoppedByUser === true),
      Dead: false,
      Pid: running ? s.pid ?? 0 : 0,
      ConmonPid: running ? s.shimPid ?? 0 : 0,
      ExitCode: s.status === "exited" ? s.exitCode ?? 0 : 0,
      Error: s.status === "stopped" ? "the container's monitor was killed; its exit code is unknown" : "",
      StartedAt: iso(s.startedAt),
      FinishedAt: iso(s.status === "exited" ? s.finishedAt : undefined),
    },
    Image: `sha256:${rec.imageId.replace(/^sha256:/, "")}`,
    ImageName: rec.imageName,
    LogPath: logFileOf(rec.id),
    Name: `/${rec.name}`,
    RestartCount: s.restartCount ?? 0,
    Driver: "overlay",
    Config: {
      Hostname: cfg?.hostname ?? "",
      User: cfg?.user ?? "",
      Tty: rec.tty,
      OpenStdin: rec.interactive ?? false,
      Env: cfg?.env ?? [],
      Cmd: cfg?.cmd ?? rec.command,
      Image: rec.image,
      WorkingDir: cfg?.workingDir ?? "/",
      Entrypoint: cfg?.entrypoint ?? [],
      Labels: rec.labels,
      StopSignal: rec.stopSignal ?? "SIGTERM",
      StopTimeout: rec.stopTimeout ?? 10,
    },
    HostConfig: {
      AutoRemove: rec.autoRemove,
      RestartPolicy: { Name: policyName, MaximumRetryCount: retries ? Number(retries) : 0 },
      ReadonlyRootfs: false,
      // Resource limits are accepted and ignored (no cgroup is ours), as podman reports them.
      Memory: 0,
      MemorySwap: 0,
      NanoCpus: 0,
      CpuShares: 0,
      PidsLimit: 0,
      OomScoreAdj: bundleSpec(rec).process?.oomScoreAdj ?? 0,
      LogConfig: { Type: "k8s-file", Config: {} },
      // docker and podman name the joined container: `container:<id>`.
      NetworkMode: rec.network?.mode === "container" ? `container:${rec.network.container}` : (rec.network?.mode ?? "none"),
      PublishAllPorts: rec.network?.publishAll ?? false,
      PortBindings: portsForInspect(running ? readPorts(stateDirOf(rec.id)) : []),
    },
    NetworkSettings: {
      Ports: portsForInspect(running ? readPorts(stateDirOf(rec.id)) : []),
      Networks: containerNetworksForInspect(rec),
    },
    Mounts: inspectMounts(rec.mounts),
    GraphDriver: {
      Name: "overlay",
      Data: { LowerDir: [...rec.rootfs.lowerDirs].reverse().join(":"), UpperDir: rec.rootfs.upperDir, WorkDir: rec.rootfs.workDir, MergedDir: rec.rootfs.merged },
    },
  };
}

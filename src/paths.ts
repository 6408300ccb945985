/**
 * Where ctr keeps things, per the XDG base directory spec.
 *
 * Live state (pids, sockets, exit codes) goes under `$XDG_RUNTIME_DIR/ctr`
 * and disappears with a reboot; what must survive one (images, container
 * definitions and their writable layers, volumes) goes under
 * `$XDG_DATA_HOME/ctr`. Both can be overridden with `--root` and
 * `--runroot` as in podman.
 */
import { homedir, userInfo } from "node:os";
import { join } from "node:path";

export interface CtrPaths {
  /** Durable store: `$XDG_DATA_HOME/ctr`. */
  readonly data: string;
  /** Live state: `$XDG_RUNTIME_DIR/ctr`. */
  readonly runtime: string;
  /** User configuration: `$XDG_CONFIG_HOME`. */
  readonly configHome: string;
}

let overrides: { root?: string; runroot?: string } = {};

/** Applies `--root` / `--runroot` from the command line before any path is used. */
export function setPathOverrides(o: { root?: string; runroot?: string }): void {
  overrides = o;
}

export function xdgDataHome(env = process.env): string {
  return env.XDG_DATA_HOME || join(homeDir(env), ".local", "share");
}

export function xdgConfigHome(env = process.env): string {
  return env.XDG_CONFIG_HOME || join(homeDir(env), ".config");
}

/**
 * Without logind nobody creates `/run/user/UID`, so when XDG_RUNTIME_DIR is
 * unset we fall back to a per-user directory under /tmp, as podman does.
 */
export function xdgRuntimeDir(env = process.env): string {
  if (env.XDG_RUNTIME_DIR) return env.XDG_RUNTIME_DIR;
  const uid = process.getuid?.() ?? 0;
  return join("/tmp", `ctr-run-${uid}`);
}

export function homeDir(env = process.env): string {
  return env.HOME || safeHomedir();
}

function safeHomedir(): string {
  try {
    return homedir() || userInfo().homedir;
  } catch {
    return "/";
  }
}

export function ctrPaths(env = process.env): CtrPaths {
  return {
    data: overrides.root ?? join(xdgDataHome(env), "ctr"),
    runtime: overrides.runroot ?? join(xdgRuntimeDir(env), "ctr"),
    configHome: xdgConfigHome(env),
  };
}

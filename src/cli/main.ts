/**
 * ctr's entry point: parses global options, dispatches to one verb module,
 * and is the only place that prints errors and chooses the exit status
 * (125 engine error, 126 cannot execute, 127 not found, else the
 * container's own status).
 */
import { cac, type CAC } from "cac";
import { CtrError, errorText, EXIT_ENGINE } from "../errors.ts";
import { setPathOverrides } from "../paths.ts";
import { VERSION } from "../version.ts";
import { firstPositional } from "./argv.ts";
import { PASS_THROUGH_VERBS, STDIO_ARG, type CommandContext } from "./command.ts";
import { registerHistory } from "./history.ts";
import { registerImageInspect } from "./image-inspect.ts";
import { registerImagePrune } from "./image-prune.ts";
import { registerImages } from "./images.ts";
import { registerInfo } from "./info.ts";
import { registerLoad } from "./load.ts";
import { registerLogin } from "./login.ts";
import { registerLogout } from "./logout.ts";
import { str } from "./options.ts";
import { registerPs } from "./ps.ts";
import { registerPort } from "./port.ts";
import { registerPull } from "./pull.ts";
import { registerPush } from "./push.ts";
import { registerRm } from "./rm.ts";
import { registerRmi } from "./rmi.ts";
import { registerRun } from "./run.ts";
import { registerSave } from "./save.ts";
import { registerAttach } from "./attach.ts";
import { registerContainerPrune } from "./container-prune.ts";
import { registerCreate } from "./create.ts";
import { registerExec } from "./exec.ts";
import { registerPause } from "./pause.ts";
import { registerStats } from "./stats.ts";
import { registerTop } from "./top.ts";
import { registerUnpause } from "./unpause.ts";
import { registerInspect } from "./inspect.ts";
import { registerKill } from "./kill.ts";
import { registerLogs } from "./logs.ts";
import { registerRename } from "./rename.ts";
import { registerRestart } from "./restart.ts";
import { registerStart } from "./start.ts";
import { registerStop } from "./stop.ts";
import { registerWait } from "./wait.ts";
import { registerTag } from "./tag.ts";
import { registerDiff } from "./diff.ts";
import { registerCommit } from "./commit.ts";
import { registerExport } from "./export.ts";
import { registerImport } from "./import.ts";
import { copyExtractVerb, CP_EXTRACT_VERB, registerCp } from "./cp.ts";
import { registerVolume } from "./volume.ts";
import { unpackHelperVerb, UNPACK_VERB } from "./unpack-helper.ts";

const GLOBAL_VALUE_FLAGS = new Set(["root", "runroot", "log-level"]);

function buildCli(ctx: CommandContext): CAC {
  const cli = cac("ctr");
  cli.option("--root <dir>", "Storage root (default $XDG_DATA_HOME/ctr)");
  cli.option("--runroot <dir>", "Runtime state root (default $XDG_RUNTIME_DIR/ctr)");
  cli.option("--log-level <level>", "Log level: error, warn, info, debug");
  for (const register of [registerRun, registerPull, registerImages, registerPs, registerRm, registerInfo, registerTag, registerRmi, registerImageInspect, registerHistory, registerImagePrune, registerSave, registerLoad, registerPush, registerLogin, registerLogout, registerCreate, registerStart, registerStop, registerRestart, registerKill, registerWait, registerRename, registerInspect, registerLogs, registerExec, registerAttach, registerTop, registerPause, registerUnpause, registerStats, registerContainerPrune, registerVolume, registerPort, registerDiff, registerCommit, registerExport, registerImport, registerCp]) register(cli, ctx);
  cli.command("version", "Show the ctr version").action(() => {
    ctx.out(`Version:      ${VERSION}`);
    ctx.out(`Bun version:  ${Bun.version}`);
    ctx.out(`OS/Arch:      linux/${process.arch === "x64" ? "amd64" : process.arch}`);
    return 0;
  });
  cli.help();
  return cli;
}

/**
 * Two-word spellings (`ctr image ls`, `ctr container run`) of the verbs,
 * rewritten to the one-word verb before parsing.
 */
const TWO_WORD_VERBS: Record<string, string> = {
  "image ls": "images",
  "image list": "images",
  "image pull": "pull",
  "image rm": "rmi",
  "image tag": "tag",
  "image history": "history",
  "image prune": "image-prune",
  "image inspect": "image-inspect",
  "image save": "save",
  "image load": "load",
  "image push": "push",
  "image import": "import",
  "container run": "run",
  "container create": "create",
  "container start": "start",
  "container stop": "stop",
  "container restart": "restart",
  "container kill": "kill",
  "container wait": "wait",
  "container rename": "rename",
  "container inspect": "inspect",
  "container logs": "logs",
  "container exec": "exec",
  "container attach": "attach",
  "container top": "top",
  "container pause": "pause",
  "container unpause": "unpause",
  "container stats": "stats",
  "container prune": "container-prune",
  "container diff": "diff",
  "container commit": "commit",
  "container export": "export",
  "container cp": "cp",
  "container ps": "ps",
  "container ls": "ps",
  "container list": "ps",
  "container rm": "rm",
  "system info": "info",
  "volume create": "volume-create",
  "volume ls": "volume-ls",
  "volume list": "volume-ls",
  "volume inspect": "volume-inspect",
  "volume rm": "volume-rm",
  "volume remove": "volume-rm",
  "volume prune": "volume-prune",
};

function rewriteTwoWordVerb(args: string[]): string[] {
  const at = firstPositional(args, { takesValue: GLOBAL_VALUE_FLAGS });
  const verb = at >= 0 ? TWO_WORD_VERBS[`${args[at]} ${args[at + 1]}`] : undefined;
  return verb ? [...args.slice(0, at), verb, ...args.slice(at + 2)] : args;
}

/** Splits off what follows a pass-through verb's first positional (see argv.ts). */
function splitArgv(cli: CAC, args: string[]): { head: string[]; rest: string[] } {
  const verbAt = firstPositional(args, { takesValue: GLOBAL_VALUE_FLAGS });
  if (verbAt < 0) return { head: args, rest: [] };
  const sub = verbAt;
  const name = args[sub]!;
  if (!PASS_THROUGH_VERBS.has(name)) return { head: args, rest: [] };
  const cmd = cli.commands.find((c) => c.name.split(" ")[0] === name);
  const takesValue = new Set<string>(GLOBAL_VALUE_FLAGS);
  for (const o of cmd?.options ?? []) if (o.required !== undefined) for (const n of o.names) takesValue.add(n.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`));
  takesValue.add("h"); // -h is --hostname for run/create, as in docker
  const tail = args.slice(sub + 1);
  const pos = firstPositional(tail, { takesValue });
  // mri (under cac) knows boolean flags by their camelCase names only, so
  // `--read-only IMAGE` would take IMAGE as the flag's value.
  const booleans = new Set((cmd?.options ?? []).filter((o) => o.required === undefined).flatMap((o) => o.rawName.match(/--[a-z]+(?:-[a-z]+)+/g) ?? []));
  const fix = (a: string[]) => fixHostnameFlag(a).map((x) => (booleans.has(x) ? `${x}=true` : x));
  if (pos < 0) return { head: [...args.slice(0, sub + 1), ...fix(tail)], rest: [] };
  return { head: [...args.slice(0, sub + 1), ...fix(tail.slice(0, pos + 1))], rest: tail.slice(pos + 1) };
}

/**
 * Refuses flags the verb does not have, with docker's wording. cac's own
 * check runs after mri has already turned `--no-such-flag` into `suchFlag`,
 * which names the wrong flag. Returns `head` with hyphenated boolean flags
 * spelled `--flag=true`: cac hands mri camelCased names, so mri does not
 * know `--all-tags` is boolean and would take the next argument as its value.
 */
function checkFlags(cli: CAC, head: string[]): string[] {
  const verbAt = firstPositional(head, { takesValue: GLOBAL_VALUE_FLAGS });
  const verb = verbAt >= 0 ? head[verbAt] : undefined;
  const cmd = cli.commands.find((c) => c.name.split(" ")[0] === verb || c.aliasNames.includes(verb ?? ""));
  const known = new Set<string>(["--help", "-h"]);
  const takesValue = new Set<string>();
  for (const o of [...cli.globalCommand.options, ...(cmd?.options ?? [])]) {
    const flags = o.rawName.match(/--?[A-Za-z0-9-]+/g) ?? [];
    for (const f of flags) {
      known.add(f);
      if (o.required !== undefined) takesValue.add(f);
    }
  }
  const out = [...head];
  for (let i = 0; i < head.length; i++) {
    const a = head[i]!;
    if (a === "--") break;
    if (!a.startsWith("-") || a === "-") continue;
    if (a.startsWith("--")) {
      const name = a.split("=")[0]!;
      if (!known.has(name)) throw new CtrError(`unknown flag: ${name}`, { kind: "invalid" });
      if (!a.includes("=") && takesValue.has(name)) i++;
      else if (!a.includes("=") && name.slice(2).includes("-") && !name.startsWith("--no-")) out[i] = `${name}=true`;
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const f = `-${a[j]}`;
      if (!known.has(f)) throw new CtrError(`unknown shorthand flag: '${a[j]}' in ${a}`, { kind: "invalid" });
      if (takesValue.has(f)) {
        if (j === a.length - 1) i++;
        break;
      }
    }
  }
  return out;
}

/** cac reserves -h for help; docker's run/create use it for --hostname. */
function fixHostnameFlag(args: string[]): string[] {
  return args.map((a) => (a === "-h" ? "--hostname" : a));
}

export async function main(argv: string[]): Promise<number> {
  const ctx: CommandContext = {
    rest: [],
    out: (line) => process.stdout.write(line + "\n"),
    err: (line) => process.stderr.write(line + "\n"),
  };
  if (argv[0] === "--version" || argv[0] === "-v") {
    ctx.out(`ctr version ${VERSION}`);
    return 0;
  }
  if (argv[0] === UNPACK_VERB) return unpackHelperVerb(argv.slice(1), ctx);
  try {
    if (argv[0] === CP_EXTRACT_VERB) return await copyExtractVerb(argv.slice(1), ctx);
    const cli = buildCli(ctx);
    const { head, rest } = splitArgv(cli, rewriteTwoWordVerb(argv));
    ctx.rest = rest;
    const parsed = cli.parse(["ctr", "ctr", ...checkFlags(cli, head).map((a) => (a === "-" ? STDIO_ARG : a))], { run: false });
    setPathOverrides({ root: str(parsed.options.root), runroot: str(parsed.options.runroot) });
    if (parsed.options.help) return 0;
    if (!cli.matchedCommand) {
      if (parsed.args.length > 0) throw new CtrError(`unrecognized command "ctr ${parsed.args[0]}": try "ctr --help"`, { kind: "invalid" });
      cli.outputHelp();
      return 0;
    }
    const code = await cli.runMatchedCommand();
    return typeof code === "number" ? code : 0;
  } catch (err) {
    if (err instanceof CtrError) {
      ctx.err(`Error: ${err.message}`);
      if (process.env.CTR_DEBUG && err.cause) ctx.err(String((err.cause as Error).stack ?? err.cause));
      return err.exitCode;
    }
    // cac's own errors (unknown option, missing argument) are usage errors.
    if (err instanceof Error && err.name === "CACError") {
      ctx.err(`Error: ${err.message}`);
      return EXIT_ENGINE;
    }
    ctx.err(`Error: ${errorText(err)}`);
    if (process.env.CTR_DEBUG) ctx.err(String((err as Error).stack));
    return EXIT_ENGINE;
  }
}

const code = await main(process.argv.slice(2));
// Flush before exiting: process.exit does not wait for piped stdout.
process.exitCode = code;

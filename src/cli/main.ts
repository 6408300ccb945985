/**
 * ctr's entry point: parses global options, dispatches to one verb module,
 * and is the only place that prints errors and chooses the exit status
 * (125 engine error, 126 cannot execute, 127 not found, else the
 * container's own status).
 */
import { cac, type CAC, type Command } from "cac";
import { CtrError, errorText, EXIT_ENGINE } from "../errors.ts";
import { setPathOverrides } from "../paths.ts";
import { VERSION } from "../version.ts";
import { firstPositional, flagTable, parseArgs, type FlagTable } from "./argv.ts";
import { PASS_THROUGH_VERBS, STDIO_ARG, type CommandContext } from "./command.ts";
import { str } from "./options.ts";

const GLOBAL_VALUE_FLAGS = new Set(["root", "runroot", "log-level"]);

/** Registers one module's verbs on the parser. */
type Register = (cli: CAC, ctx: CommandContext) => void;

/**
 * Each verb's module, loaded when that verb runs: evaluating every module
 * (and all they import) cost every command, `ctr --version` included,
 * several milliseconds. Keys are verbs, or the first word of the verbs a
 * module registers together (`volume` for `volume-create`, `volume-ls` …).
 * A verb found under neither loads them all, as help does. A new verb:
 * add its module here.
 */
const VERB_MODULES: Record<string, () => Promise<Register>> = {
  "run": () => import("./run.ts").then((m) => m.registerRun),
  "pull": () => import("./pull.ts").then((m) => m.registerPull),
  "images": () => import("./images.ts").then((m) => m.registerImages),
  "ps": () => import("./ps.ts").then((m) => m.registerPs),
  "rm": () => import("./rm.ts").then((m) => m.registerRm),
  "info": () => import("./info.ts").then((m) => m.registerInfo),
  "tag": () => import("./tag.ts").then((m) => m.registerTag),
  "rmi": () => import("./rmi.ts").then((m) => m.registerRmi),
  "image-inspect": () => import("./image-inspect.ts").then((m) => m.registerImageInspect),
  "history": () => import("./history.ts").then((m) => m.registerHistory),
  "image-prune": () => import("./image-prune.ts").then((m) => m.registerImagePrune),
  "save": () => import("./save.ts").then((m) => m.registerSave),
  "load": () => import("./load.ts").then((m) => m.registerLoad),
  "push": () => import("./push.ts").then((m) => m.registerPush),
  "login": () => import("./login.ts").then((m) => m.registerLogin),
  "logout": () => import("./logout.ts").then((m) => m.registerLogout),
  "create": () => import("./create.ts").then((m) => m.registerCreate),
  "start": () => import("./start.ts").then((m) => m.registerStart),
  "stop": () => import("./stop.ts").then((m) => m.registerStop),
  "restart": () => import("./restart.ts").then((m) => m.registerRestart),
  "kill": () => import("./kill.ts").then((m) => m.registerKill),
  "wait": () => import("./wait.ts").then((m) => m.registerWait),
  "rename": () => import("./rename.ts").then((m) => m.registerRename),
  "inspect": () => import("./inspect.ts").then((m) => m.registerInspect),
  "logs": () => import("./logs.ts").then((m) => m.registerLogs),
  "exec": () => import("./exec.ts").then((m) => m.registerExec),
  "attach": () => import("./attach.ts").then((m) => m.registerAttach),
  "top": () => import("./top.ts").then((m) => m.registerTop),
  "pause": () => import("./pause.ts").then((m) => m.registerPause),
  "unpause": () => import("./unpause.ts").then((m) => m.registerUnpause),
  "stats": () => import("./stats.ts").then((m) => m.registerStats),
  "container-prune": () => import("./container-prune.ts").then((m) => m.registerContainerPrune),
  "volume": () => import("./volume.ts").then((m) => m.registerVolume),
  "network": () => import("./network.ts").then((m) => m.registerNetwork),
  "system": () => import("./system.ts").then((m) => m.registerSystem),
  "port": () => import("./port.ts").then((m) => m.registerPort),
  "diff": () => import("./diff.ts").then((m) => m.registerDiff),
  "commit": () => import("./commit.ts").then((m) => m.registerCommit),
  "export": () => import("./export.ts").then((m) => m.registerExport),
  "import": () => import("./import.ts").then((m) => m.registerImport),
  "cp": () => import("./cp.ts").then((m) => m.registerCp),
};

/** The register functions for `verb`: its module's, or every module's (help, unknown verbs). */
async function registersFor(verb: string | undefined): Promise<Register[]> {
  if (verb === "version") return [];
  const load = verb === undefined ? undefined : VERB_MODULES[verb] ?? VERB_MODULES[verb.split("-")[0]!];
  if (load) return [await load()];
  return Promise.all(Object.values(VERB_MODULES).map((l) => l()));
}

function buildCli(ctx: CommandContext, registers: Register[]): CAC {
  const cli = cac("ctr");
  cli.option("--root <dir>", "Storage root (default $XDG_DATA_HOME/ctr)");
  cli.option("--runroot <dir>", "Runtime state root (default $XDG_RUNTIME_DIR/ctr)");
  cli.option("--log-level <level>", "Log level: error, warn, info, debug");
  for (const register of registers) register(cli, ctx);
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
  "system df": "system-df",
  "system prune": "system-prune",
  "system reset": "system-reset",
  "system check": "system-check",
  "volume create": "volume-create",
  "volume ls": "volume-ls",
  "volume list": "volume-ls",
  "volume inspect": "volume-inspect",
  "volume rm": "volume-rm",
  "volume remove": "volume-rm",
  "volume prune": "volume-prune",
  "network create": "network-create",
  "network ls": "network-ls",
  "network list": "network-ls",
  "network inspect": "network-inspect",
  "network rm": "network-rm",
  "network remove": "network-rm",
  "network connect": "network-connect",
  "network disconnect": "network-disconnect",
  "network prune": "network-prune",
  "network exists": "network-exists",
};

function rewriteTwoWordVerb(args: string[]): string[] {
  const at = firstPositional(args, { takesValue: GLOBAL_VALUE_FLAGS });
  const verb = at >= 0 ? TWO_WORD_VERBS[`${args[at]} ${args[at + 1]}`] : undefined;
  return verb ? [...args.slice(0, at), verb, ...args.slice(at + 2)] : args;
}

/**
 * The flags `cmd` (and ctr itself) accepts. `-h` is help, except where the
 * verb has `--hostname` (run, create): there it is the hostname, as in
 * docker, and help is `--help` only.
 */
function flagsOf(cli: CAC, cmd: Command | undefined): FlagTable {
  const table = flagTable([...cli.globalCommand.options, ...(cmd?.options ?? [])]);
  const hostname = table.get("--hostname");
  if (hostname) table.set("-h", hostname);
  return table;
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
  // ctr's own helper verbs (run by ctr in a user namespace) load their modules only then.
  if (argv[0]?.startsWith("__")) {
    const unpack = await import("./unpack-helper.ts");
    if (argv[0] === unpack.UNPACK_VERB) return unpack.unpackHelperVerb(argv.slice(1), ctx);
  }
  try {
    if (argv[0]?.startsWith("__")) {
      const cp = await import("./cp.ts");
      if (argv[0] === cp.CP_EXTRACT_VERB) return await cp.copyExtractVerb(argv.slice(1), ctx);
    }
    const args = rewriteTwoWordVerb(argv);
    const verbAt = firstPositional(args, { takesValue: GLOBAL_VALUE_FLAGS });
    const verb = verbAt >= 0 ? args[verbAt]! : undefined;
    const cli = buildCli(ctx, await registersFor(verb));
    const cmd = verb === undefined ? undefined : cli.commands.find((c) => c.isMatched(verb));
    if (verb !== undefined && !cmd) throw new CtrError(`unrecognized command "ctr ${verb}": try "ctr --help"`, { kind: "invalid" });
    // Only the verb goes through cac (it picks the command, prints help, checks arguments): see argv.ts.
    const parsed = parseArgs(args, flagsOf(cli, cmd), { passThroughAfter: verb !== undefined && PASS_THROUGH_VERBS.has(verb) ? 2 : undefined });
    ctx.rest = parsed.rest;
    setPathOverrides({ root: str(parsed.options.root), runroot: str(parsed.options.runroot) });
    if (parsed.options.help === true) {
      cli.parse(["ctr", "ctr", ...(verb === undefined ? [] : [verb]), "--help"], { run: false });
      return 0;
    }
    cli.parse(["ctr", "ctr", ...(verb === undefined ? [] : [verb])], { run: false });
    if (!cli.matchedCommand) {
      cli.outputHelp();
      return 0;
    }
    cli.args = parsed.positionals.slice(1).map((a) => (a === "-" ? STDIO_ARG : a));
    Object.assign(cli.options, parsed.options);
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

/**
 * `npm run build`: compiles the shim (static, musl) and then ctr itself into
 * one executable, `dist/ctr`, with the shim embedded as a file.
 * Never strip dist/ctr: stripping removes the embedded files.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
// CTR_BUILD_OUT lets several people build and test side by side in one checkout.
const out = process.env.CTR_BUILD_OUT ?? "dist/ctr";
const shimOut = process.env.CTR_BUILD_OUT ? `${out}-shim` : "build/ctr-shim";

function run(cmd: string[]): void {
  const p = Bun.spawnSync(cmd, { cwd: root, stdio: ["inherit", "inherit", "inherit"] });
  if (p.exitCode !== 0) {
    console.error(`build: "${cmd.join(" ")}" failed with exit ${p.exitCode}`);
    process.exit(1);
  }
}

mkdirSync(join(root, "build"), { recursive: true });
mkdirSync(join(root, "dist"), { recursive: true });
run(["bash", "scripts/build-shim.sh", shimOut]);
if (shimOut !== "build/ctr-shim") run(["cp", shimOut, "build/ctr-shim.tmp"]), run(["mv", "build/ctr-shim.tmp", "build/ctr-shim"]);
run([
  process.execPath,
  "build",
  "--compile",
  "--minify",
  "--bytecode",
  "--format=esm",
  // Each verb's module (dynamic imports in main.ts) is a chunk of its own,
  // loaded when that verb runs: `ctr --version` no longer loads all of ctr.
  "--splitting",
  "src/cli/main.ts",
  "--outfile",
  out,
]);
console.log(`build: ${out} ready`);

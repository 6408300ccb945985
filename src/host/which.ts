/** Finds an executable on PATH (plus the sbin dirs an unprivileged PATH often lacks). */
import { accessSync, constants } from "node:fs";
import { join } from "node:path";

export function which(name: string, path = process.env.PATH ?? ""): string | undefined {
  const dirs = [...path.split(":").filter(Boolean), "/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"];
  for (const dir of dirs) {
    const full = join(dir, name);
    try {
      accessSync(full, constants.X_OK);
      return full;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

/**
 * Platforms as `os/arch[/variant]` strings, and the choice of a manifest
 * from an index the way containerd's default matcher makes it.
 */
import { CtrError } from "../errors.ts";
import type { Descriptor, Platform } from "../oci/image.ts";

const GOARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };

export function hostPlatform(): Platform {
  const architecture = GOARCH[process.arch] ?? process.arch;
  return architecture === "arm64" ? { os: "linux", architecture, variant: "v8" } : { os: "linux", architecture };
}

/** Parses `linux/arm64/v8`, `arm64`, `linux/amd64`. */
export function parsePlatform(spec: string): Platform {
  const parts = spec.split("/");
  if (parts.length === 1 && parts[0]) return { os: "linux", architecture: parts[0] };
  if ((parts.length === 2 || parts.length === 3) && parts.every((p) => p)) {
    return { os: parts[0]!, architecture: parts[1]!, ...(parts[2] ? { variant: parts[2] } : {}) };
  }
  throw new CtrError(`invalid platform "${spec}": expected os/arch[/variant]`, { kind: "invalid" });
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/** arm64 images usually omit their variant, which then means v8. */
function variantOf(p: Platform): string | undefined {
  return p.variant ?? (p.architecture === "arm64" ? "v8" : undefined);
}

/** The index entry for `want`, preferring an exact variant; undefined if none fits. */
export function selectManifest(manifests: Descriptor[], want: Platform): Descriptor | undefined {
  const candidates = manifests.filter((m) => m.platform && m.platform.os === want.os && m.platform.architecture === want.architecture);
  const wantVariant = variantOf(want);
  return candidates.find((m) => variantOf(m.platform!) === wantVariant) ?? (want.variant ? undefined : candidates[0]);
}

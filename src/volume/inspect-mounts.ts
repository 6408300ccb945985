/**
 * A container's mounts as `inspect` shows them under `Mounts`: docker's
 * fields (Type, Name, Source, Destination, Driver, Mode, RW, Propagation)
 * plus podman's Options. Only volumes have a Name.
 */
import type { MountRecord } from "../runtime/container-store.ts";

export interface InspectMount {
  Type: "bind" | "volume" | "tmpfs";
  Name?: string;
  Source: string;
  Destination: string;
  Driver: string;
  Mode: string;
  Options: string[];
  RW: boolean;
  Propagation: string;
}

export function inspectMounts(mounts: MountRecord[] | undefined): InspectMount[] {
  return (mounts ?? []).map((m): InspectMount => {
    switch (m.Type) {
      case "volume":
        return { Type: "volume", Name: m.Name, Source: m.Source, Destination: m.Destination, Driver: "local", Mode: "", Options: ["nosuid", "nodev", "rbind"], RW: m.RW, Propagation: "rprivate" };
      case "bind":
        return { Type: "bind", Source: m.Source, Destination: m.Destination, Driver: "", Mode: "", Options: ["rbind"], RW: m.RW, Propagation: "rprivate" };
      default:
        return { Type: "tmpfs", Source: "tmpfs", Destination: m.Destination, Driver: "", Mode: "", Options: ["nosuid", "nodev"], RW: m.RW, Propagation: "" };
    }
  });
}

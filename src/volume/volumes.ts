/** Opens the user's volume store under the data dir. */
import { ctrPaths } from "../paths.ts";
import { VolumeStore } from "./store.ts";

export function volumeStore(): VolumeStore {
  return new VolumeStore(ctrPaths().data);
}

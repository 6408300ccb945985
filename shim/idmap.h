/*
 * idmap.h: writing a new user namespace's uid and gid maps.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "spec.h"

/* "C:H:N" (container id, host id, count) from the command line. */
bool parse_id_map(const char *text, struct id_map *out);
void append_id_map(struct id_maps *maps, struct id_map map);

/* When maps are empty, map the caller's own id to 0, like `unshare -r`. */
void default_id_maps(struct id_maps *uid_maps, struct id_maps *gid_maps);

/* Give pid's user namespace its maps. Must run in the parent user
 * namespace, with the same euid as the process that created it. Dies with
 * the helper's own message when newuidmap/newgidmap refuse. */
void write_id_maps(pid_t pid, const struct id_maps *uid_maps, const struct id_maps *gid_maps);

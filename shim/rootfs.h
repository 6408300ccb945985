/*
 * rootfs.h: assembling the container's filesystem tree and moving into it.
 */
#pragma once

#include "spec.h"

/* In the container's fresh mount namespace, as root of its user
 * namespace: mount the rootfs at spec->root_path, the configured mounts
 * on it, pivot_root into it, then mask and protect paths. Afterwards "/"
 * is the container's root and the caller's tree is unreachable. */
void setup_rootfs(const struct spec *spec);

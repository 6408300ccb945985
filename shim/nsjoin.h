/*
 * nsjoin.h: starting a container's init when its config joins existing
 * namespaces (`path` in linux.namespaces), e.g. the user namespace that
 * ctr's networks share.
 */
#pragma once

#include <sys/types.h>

#include "spec.h"

/* Forks a child that joins spec's namespaces by path (user namespace
 * first), then clones the container's init into the ones still to create,
 * as the caller's child (CLONE_PARENT), and exits. Like fork(): returns 0
 * in the init and its pid in the caller; -1 when the joining child failed,
 * whose error line is then in report_fd's pipe. Dies if a path cannot be
 * opened. */
pid_t clone_joining(const struct spec *spec, int report_fd);

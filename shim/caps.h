/*
 * caps.h: process.capabilities, applied around the switch to process.user.
 */
#pragma once

#include "spec.h"

/* CAP_* number for a name such as "CAP_CHOWN"; -1 if unknown. */
int cap_from_name(const char *name);

/* Before the uid changes: shrink the bounding set (needs CAP_SETPCAP,
 * which only root of the namespace still has) and ask the kernel to keep
 * the permitted set across the uid change. */
void prepare_caps(const struct caps_spec *caps);

/* After the uid changes: install effective/permitted/inheritable and
 * raise the ambient set. */
void apply_caps(const struct caps_spec *caps);

/*
 * spec.h: the part of an OCI runtime config (config.json) that ctr emits,
 * as plain C data. See src/oci/runtime.ts for the producer's side and
 * https://github.com/opencontainers/runtime-spec/blob/main/config.md.
 *
 * Parse, then act: spec_load() validates the whole document and converts
 * mount options and names to flags up front, so a bad bundle fails before
 * any namespace exists.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "json.h"
#include "netattach.h"

/* Annotations through which ctr describes a rootfs still to be assembled
 * (mirrors `Annotation` in src/oci/runtime.ts). */
#define ANNOTATION_OVERLAY_LOWER "run.ctr.rootfs.overlay.lowerdir"
#define ANNOTATION_OVERLAY_UPPER "run.ctr.rootfs.overlay.upperdir"
#define ANNOTATION_OVERLAY_WORK "run.ctr.rootfs.overlay.workdir"
#define ANNOTATION_OVERLAY_DRIVER "run.ctr.rootfs.overlay.driver"

/* Namespace types a config may list, in the order they are joined: the
 * user namespace first (it owns the others: joining it gives the
 * capabilities joining the rest needs). */
#define SPEC_NAMESPACE_TYPES 7
struct namespace_type
{
  const char *name;    /* as in config.json */
  const char *proc;    /* its name under /proc/PID/ns */
  int flag;            /* CLONE_NEW* */
};
extern const struct namespace_type namespace_types[SPEC_NAMESPACE_TYPES];

struct id_map
{
  uint32_t container_id;
  uint32_t host_id;
  uint32_t size;
};

struct id_maps
{
  struct id_map *entries;
  size_t len;
};

struct mount_spec
{
  const char *destination;
  const char *type;   /* "bind" for bind mounts, whatever the config said */
  const char *source; /* absolute for binds (relative ones are joined to the bundle) */
  unsigned long flags;       /* MS_* besides MS_BIND/MS_REC */
  unsigned long propagation; /* MS_PRIVATE, MS_SLAVE, … (| MS_REC), 0 if none */
  bool bind;
  bool recursive;
  bool has_atime_option; /* an explicit atime, noatime, relatime, … */
  char *data;            /* the options that are not flags, comma-joined */
  char *source_storage;  /* owns source when it was made absolute here */
};

struct rlimit_spec
{
  int resource;
  const char *name;
  uint64_t soft;
  uint64_t hard;
};

struct caps_spec
{
  bool present;
  uint64_t bounding, effective, inheritable, permitted, ambient;
};

enum overlay_driver
{
  OVERLAY_NONE, /* no overlay annotations: root.path is ready */
  OVERLAY_AUTO,
  OVERLAY_NATIVE,
  OVERLAY_FUSE,
};

struct spec
{
  struct json *document; /* owns every string below */

  /* process */
  char **args; /* NULL-terminated */
  char **env;  /* NULL-terminated */
  const char *cwd;
  uint32_t uid, gid;
  uint32_t *additional_gids;
  size_t n_additional_gids;
  bool has_umask;
  mode_t umask;
  bool no_new_privileges;
  bool terminal; /* process.terminal: a pty for stdio */
  bool has_oom_score_adj;
  int oom_score_adj; /* process.oomScoreAdj, -1000 to 1000 */
  struct caps_spec caps;
  struct rlimit_spec *rlimits;
  size_t n_rlimits;

  /* root */
  char *root_path; /* absolute */
  bool root_readonly;
  const char *hostname;

  struct mount_spec *mounts;
  size_t n_mounts;

  /* linux */
  int clone_flags; /* CLONE_NEW* for each namespace of the container's own (created or joined) */
  int join_flags;  /* those of clone_flags given by `path`: joined, not created */
  const char *join_paths[SPEC_NAMESPACE_TYPES]; /* by index in namespace_types, NULL when created */
  struct id_maps uid_maps, gid_maps;
  const char **masked_paths;
  size_t n_masked_paths;
  const char **readonly_paths;
  size_t n_readonly_paths;
  unsigned long rootfs_propagation; /* MS_* | MS_REC, 0 when unset */

  /* annotations */
  enum overlay_driver overlay;
  const char *overlay_lower, *overlay_upper, *overlay_work;
  struct net_attachments attachments; /* run.ctr.network.attachments */
};

/* Read and validate bundle/config.json; dies with `config.json: …` on any
 * problem. bundle must be absolute. */
struct spec *spec_load(const char *bundle);
void spec_free(struct spec *spec);

/* Parse mount options into m (also used for built-in mounts). */
void parse_mount_options(struct mount_spec *m, const char *const *options, size_t n);
/* MS_* propagation flags for "rprivate", "slave", …; false if unknown. */
bool parse_propagation(const char *name, unsigned long *out);

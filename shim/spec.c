/*
 * spec.c: config.json to struct spec, validating types as it goes.
 * Errors name the field and the byte offset of the offending value.
 */
#include "spec.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "caps.h"
#include "util.h"

#define CONFIG "config.json"

/* Longest field path we print ("process.capabilities.bounding[12]"). */
#define PATH_MAX_LEN 128

static NORETURN void die_type(const struct json *v, const char *path, const char *expected)
{
  die(EXIT_ENGINE, CONFIG ": %s must be %s, not %s (at byte %zu)", path, expected, json_type_name(v->type), v->offset);
}

/* The member key of obj, checked to be of the given type; NULL (or death
 * when required) if absent or null. */
static struct json *get_field(const struct json *obj, const char *key, enum json_type type, const char *path,
                              bool required)
{
  struct json *v = json_get(obj, key);

  if (v == NULL || v->type == JSON_NULL)
    {
      if (required)
        die(EXIT_ENGINE, CONFIG ": %s is required", path);
      return NULL;
    }
  if (v->type != type)
    die_type(v, path, json_type_name(type));
  return v;
}

static const char *get_string(const struct json *obj, const char *key, const char *path, bool required)
{
  struct json *v = get_field(obj, key, JSON_STRING, path, required);
  return v ? v->string.value : NULL;
}

static bool get_bool(const struct json *obj, const char *key, const char *path)
{
  struct json *v = get_field(obj, key, JSON_BOOL, path, false);
  return v ? v->boolean : false;
}

static uint64_t to_u64(const struct json *v, const char *path, uint64_t max)
{
  uint64_t n;

  if (v->type != JSON_NUMBER)
    die_type(v, path, "a number");
  if (!json_to_u64(v, &n) || n > max)
    die(EXIT_ENGINE, CONFIG ": %s must be an integer from 0 to %llu, not %s (at byte %zu)", path,
        (unsigned long long) max, v->number.text, v->offset);
  return n;
}

static uint32_t get_u32(const struct json *obj, const char *key, const char *path, bool required, uint32_t dflt)
{
  struct json *v = get_field(obj, key, JSON_NUMBER, path, required);
  return v ? (uint32_t) to_u64(v, path, UINT32_MAX) : dflt;
}

/* A NULL-terminated vector of the strings in an array (pointing into the
 * document). */
static char **get_string_array(const struct json *obj, const char *key, const char *path, size_t *len_out)
{
  struct json *v = get_field(obj, key, JSON_ARRAY, path, false);
  char **out;

  if (v == NULL)
    {
      if (len_out)
        *len_out = 0;
      return NULL;
    }
  out = xcalloc(v->array.len + 1, sizeof *out);
  for (size_t i = 0; i < v->array.len; i++)
    {
      struct json *item = v->array.items[i];
      if (item->type != JSON_STRING)
        {
          char item_path[PATH_MAX_LEN];
          snprintf(item_path, sizeof item_path, "%s[%zu]", path, i);
          die_type(item, item_path, "a string");
        }
      out[i] = item->string.value;
    }
  if (len_out)
    *len_out = v->array.len;
  return out;
}

static uint64_t get_cap_set(const struct json *caps, const char *key)
{
  char path[PATH_MAX_LEN];
  size_t n;
  cleanup_free char **names = NULL;
  uint64_t set = 0;

  snprintf(path, sizeof path, "process.capabilities.%s", key);
  names = get_string_array(caps, key, path, &n);
  for (size_t i = 0; i < n; i++)
    {
      int cap = cap_from_name(names[i]);
      if (cap < 0)
        die(EXIT_ENGINE, CONFIG ": %s: unknown capability \"%s\"", path, names[i]);
      set |= 1ULL << cap;
    }
  return set;
}

static const struct
{
  const char *name;
  int resource;
} rlimit_names[] = {
  { "RLIMIT_AS", RLIMIT_AS },
  { "RLIMIT_CORE", RLIMIT_CORE },
  { "RLIMIT_CPU", RLIMIT_CPU },
  { "RLIMIT_DATA", RLIMIT_DATA },
  { "RLIMIT_FSIZE", RLIMIT_FSIZE },
  { "RLIMIT_LOCKS", RLIMIT_LOCKS },
  { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
  { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
  { "RLIMIT_NICE", RLIMIT_NICE },
  { "RLIMIT_NOFILE", RLIMIT_NOFILE },
  { "RLIMIT_NPROC", RLIMIT_NPROC },
  { "RLIMIT_RSS", RLIMIT_RSS },
  { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
  { "RLIMIT_RTTIME", RLIMIT_RTTIME },
  { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
  { "RLIMIT_STACK", RLIMIT_STACK },
};

static void load_process(struct spec *spec, const struct json *root)
{
  struct json *process = get_field(root, "process", JSON_OBJECT, "process", true);
  struct json *user = get_field(process, "user", JSON_OBJECT, "process.user", true);
  struct json *v;
  size_t n_args;

  spec->args = get_string_array(process, "args", "process.args", &n_args);
  if (n_args == 0)
    die(EXIT_ENGINE, CONFIG ": process.args must name a command");
  spec->env = get_string_array(process, "env", "process.env", NULL);
  if (spec->env == NULL)
    spec->env = xcalloc(1, sizeof *spec->env);
  spec->cwd = get_string(process, "cwd", "process.cwd", true);
  if (spec->cwd[0] != '/')
    die(EXIT_ENGINE, CONFIG ": process.cwd must be an absolute path, not \"%s\"", spec->cwd);
  spec->no_new_privileges = get_bool(process, "noNewPrivileges", "process.noNewPrivileges");
  spec->terminal = get_bool(process, "terminal", "process.terminal");
  if ((v = get_field(process, "oomScoreAdj", JSON_NUMBER, "process.oomScoreAdj", false)))
    {
      /* The literal, not the double: "1.5" or "1e3" are not the kernel's integers. */
      char *end;
      long n = strtol(v->number.text, &end, 10);
      if (*end != '\0' || n < -1000 || n > 1000)
        die(EXIT_ENGINE, CONFIG ": process.oomScoreAdj must be an integer from -1000 to 1000, not %s (at byte %zu)",
            v->number.text, v->offset);
      spec->has_oom_score_adj = true;
      spec->oom_score_adj = (int) n;
    }

  spec->uid = get_u32(user, "uid", "process.user.uid", true, 0);
  spec->gid = get_u32(user, "gid", "process.user.gid", true, 0);
  if ((v = get_field(user, "umask", JSON_NUMBER, "process.user.umask", false)))
    {
      spec->has_umask = true;
      spec->umask = (mode_t) to_u64(v, "process.user.umask", 0777);
    }
  if ((v = get_field(user, "additionalGids", JSON_ARRAY, "process.user.additionalGids", false)))
    {
      spec->n_additional_gids = v->array.len;
      spec->additional_gids = xcalloc(v->array.len, sizeof *spec->additional_gids);
      for (size_t i = 0; i < v->array.len; i++)
        {
          char path[PATH_MAX_LEN];
          snprintf(path, sizeof path, "process.user.additionalGids[%zu]", i);
          spec->additional_gids[i] = (uint32_t) to_u64(v->array.items[i], path, UINT32_MAX);
        }
    }

  if ((v = get_field(process, "capabilities", JSON_OBJECT, "process.capabilities", false)))
    {
      spec->caps.present = true;
      spec->caps.bounding = get_cap_set(v, "bounding");
      spec->caps.effective = get_cap_set(v, "effective");
      spec->caps.inheritable = get_cap_set(v, "inheritable");
      spec->caps.permitted = get_cap_set(v, "permitted");
      spec->caps.ambient = get_cap_set(v, "ambient");
    }

  if ((v = get_field(process, "rlimits", JSON_ARRAY, "process.rlimits", false)))
    {
      spec->n_rlimits = v->array.len;
      spec->rlimits = xcalloc(v->array.len, sizeof *spec->rlimits);
      for (size_t i = 0; i < v->array.len; i++)
        {
          char path[PATH_MAX_LEN];
          struct json *item = v->array.items[i];
          struct rlimit_spec *r = &spec->rlimits[i];
          size_t k;

          snprintf(path, sizeof path, "process.rlimits[%zu]", i);
          if (item->type != JSON_OBJECT)
            die_type(item, path, "an object");
          r->name = get_string(item, "type", path, true);
          for (k = 0; k < sizeof rlimit_names / sizeof rlimit_names[0]; k++)
            if (strcmp(rlimit_names[k].name, r->name) == 0)
              break;
          if (k == sizeof rlimit_names / sizeof rlimit_names[0])
            die(EXIT_ENGINE, CONFIG ": %s.type: unknown rlimit \"%s\"", path, r->name);
          r->resource = rlimit_names[k].resource;
          r->soft = to_u64(get_field(item, "soft", JSON_NUMBER, path, true), path, UINT64_MAX);
          r->hard = to_u64(get_field(item, "hard", JSON_NUMBER, path, true), path, UINT64_MAX);
        }
    }
}

static const struct
{
  const char *name;
  bool clear;
  unsigned long flag;
} mount_flags[] = {
  { "defaults", false, 0 },
  { "ro", false, MS_RDONLY },
  { "rw", true, MS_RDONLY },
  { "nosuid", false, MS_NOSUID },
  { "suid", true, MS_NOSUID },
  { "nodev", false, MS_NODEV },
  { "dev", true, MS_NODEV },
  { "noexec", false, MS_NOEXEC },
  { "exec", true, MS_NOEXEC },
  { "sync", false, MS_SYNCHRONOUS },
  { "async", true, MS_SYNCHRONOUS },
  { "dirsync", false, MS_DIRSYNC },
  { "mand", false, MS_MANDLOCK },
  { "nomand", true, MS_MANDLOCK },
  { "silent", false, MS_SILENT },
  { "loud", true, MS_SILENT },
};

/* Access-time options are "locked" as a group when a mount is bind
 * mounted into a user namespace, so they are tracked apart. */
static const struct
{
  const char *name;
  bool clear;
  unsigned long flag;
} atime_flags[] = {
  { "noatime", false, MS_NOATIME },
  { "atime", true, MS_NOATIME },
  { "nodiratime", false, MS_NODIRATIME },
  { "diratime", true, MS_NODIRATIME },
  { "relatime", false, MS_RELATIME },
  { "norelatime", true, MS_RELATIME },
  { "strictatime", false, MS_STRICTATIME },
  { "nostrictatime", true, MS_STRICTATIME },
};

bool parse_propagation(const char *name, unsigned long *out)
{
  static const struct
  {
    const char *name;
    unsigned long flags;
  } table[] = {
    { "private", MS_PRIVATE },         { "rprivate", MS_PRIVATE | MS_REC },
    { "shared", MS_SHARED },           { "rshared", MS_SHARED | MS_REC },
    { "slave", MS_SLAVE },             { "rslave", MS_SLAVE | MS_REC },
    { "unbindable", MS_UNBINDABLE },   { "runbindable", MS_UNBINDABLE | MS_REC },
  };

  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (strcmp(table[i].name, name) == 0)
      {
        *out = table[i].flags;
        return true;
      }
  return false;
}

void parse_mount_options(struct mount_spec *m, const char *const *options, size_t n)
{
  size_t data_len = 0;

  for (size_t i = 0; i < n; i++)
    {
      const char *opt = options[i];
      bool known = false;
      unsigned long prop;

      if (strcmp(opt, "bind") == 0 || strcmp(opt, "rbind") == 0)
        {
          m->bind = true;
          m->recursive = opt[0] == 'r';
          continue;
        }
      if (parse_propagation(opt, &prop))
        {
          m->propagation = prop;
          continue;
        }
      for (size_t k = 0; k < sizeof mount_flags / sizeof mount_flags[0] && !known; k++)
        if (strcmp(mount_flags[k].name, opt) == 0)
          {
            known = true;
            if (mount_flags[k].clear)
              m->flags &= ~mount_flags[k].flag;
            else
              m->flags |= mount_flags[k].flag;
          }
      for (size_t k = 0; k < sizeof atime_flags / sizeof atime_flags[0] && !known; k++)
        if (strcmp(atime_flags[k].name, opt) == 0)
          {
            known = true;
            m->has_atime_option = true;
            if (atime_flags[k].clear)
              m->flags &= ~atime_flags[k].flag;
            else
              m->flags |= atime_flags[k].flag;
          }
      if (known)
        continue;
      /* Anything else is filesystem data: mode=, size=, newinstance, … */
      m->data = xrealloc(m->data, data_len + strlen(opt) + 2);
      if (data_len > 0)
        m->data[data_len++] = ',';
      strcpy(m->data + data_len, opt);
      data_len += strlen(opt);
    }
}

static void load_mounts(struct spec *spec, const struct json *root, const char *bundle)
{
  struct json *mounts = get_field(root, "mounts", JSON_ARRAY, "mounts", false);

  if (mounts == NULL)
    return;
  spec->n_mounts = mounts->array.len;
  spec->mounts = xcalloc(mounts->array.len, sizeof *spec->mounts);
  for (size_t i = 0; i < mounts->array.len; i++)
    {
      struct json *item = mounts->array.items[i];
      struct mount_spec *m = &spec->mounts[i];
      char path[PATH_MAX_LEN], field[PATH_MAX_LEN];
      cleanup_free char **options = NULL;
      size_t n_options;

      snprintf(path, sizeof path, "mounts[%zu]", i);
      if (item->type != JSON_OBJECT)
        die_type(item, path, "an object");
      snprintf(field, sizeof field, "mounts[%zu].destination", i);
      m->destination = get_string(item, "destination", field, true);
      if (m->destination[0] != '/')
        die(EXIT_ENGINE, CONFIG ": %s must be an absolute path, not \"%s\"", field, m->destination);
      snprintf(field, sizeof field, "mounts[%zu].type", i);
      m->type = get_string(item, "type", field, false);
      snprintf(field, sizeof field, "mounts[%zu].source", i);
      m->source = get_string(item, "source", field, false);
      snprintf(field, sizeof field, "mounts[%zu].options", i);
      options = get_string_array(item, "options", field, &n_options);
      parse_mount_options(m, (const char *const *) options, n_options);

      if (m->type && strcmp(m->type, "bind") == 0)
        m->bind = true;
      if (m->bind)
        {
          m->type = "bind";
          if (m->source == NULL)
            die(EXIT_ENGINE, CONFIG ": %s: a bind mount needs a source", path);
          /* The runtime spec resolves relative sources against the bundle. */
          if (m->source[0] != '/')
            m->source = m->source_storage = xasprintf("%s/%s", bundle, m->source);
        }
      else
        {
          if (m->type == NULL)
            die(EXIT_ENGINE, CONFIG ": %s needs a type or a bind option", path);
          if (m->source == NULL)
            m->source = m->type;
        }
    }
}

const struct namespace_type namespace_types[SPEC_NAMESPACE_TYPES] = {
  { "user", "user", CLONE_NEWUSER }, { "mount", "mnt", CLONE_NEWNS },    { "pid", "pid", CLONE_NEWPID },
  { "uts", "uts", CLONE_NEWUTS },    { "ipc", "ipc", CLONE_NEWIPC },     { "network", "net", CLONE_NEWNET },
  { "cgroup", "cgroup", CLONE_NEWCGROUP },
};

static void load_id_maps(struct id_maps *maps, const struct json *linux_obj, const char *key)
{
  char path[PATH_MAX_LEN];
  struct json *v;

  snprintf(path, sizeof path, "linux.%s", key);
  v = get_field(linux_obj, key, JSON_ARRAY, path, false);
  if (v == NULL)
    return;
  maps->len = v->array.len;
  maps->entries = xcalloc(v->array.len, sizeof *maps->entries);
  for (size_t i = 0; i < v->array.len; i++)
    {
      struct json *item = v->array.items[i];
      struct id_map *e = &maps->entries[i];
      char item_path[PATH_MAX_LEN + 32];

      snprintf(item_path, sizeof item_path, "%s[%zu]", path, i);
      if (item->type != JSON_OBJECT)
        die_type(item, item_path, "an object");
      e->container_id = get_u32(item, "containerID", item_path, true, 0);
      e->host_id = get_u32(item, "hostID", item_path, true, 0);
      e->size = get_u32(item, "size", item_path, true, 0);
      if (e->size == 0)
        die(EXIT_ENGINE, CONFIG ": %s.size must not be 0", item_path);
    }
}

static const char **get_path_list(const struct json *obj, const char *key, const char *path, size_t *n)
{
  char **list = get_string_array(obj, key, path, n);

  for (size_t i = 0; i < *n; i++)
    if (list[i][0] != '/')
      die(EXIT_ENGINE, CONFIG ": %s[%zu] must be an absolute path, not \"%s\"", path, i, list[i]);
  return (const char **) list;
}

static void load_linux(struct spec *spec, const struct json *root)
{
  struct json *linux_obj = get_field(root, "linux", JSON_OBJECT, "linux", true);
  struct json *namespaces = get_field(linux_obj, "namespaces", JSON_ARRAY, "linux.namespaces", false);
  const char *propagation;

  for (size_t i = 0; namespaces && i < namespaces->array.len; i++)
    {
      struct json *item = namespaces->array.items[i];
      char path[PATH_MAX_LEN];
      const char *type, *join;
      size_t k;

      snprintf(path, sizeof path, "linux.namespaces[%zu]", i);
      if (item->type != JSON_OBJECT)
        die_type(item, path, "an object");
      type = get_string(item, "type", path, true);
      join = get_string(item, "path", path, false);
      for (k = 0; k < SPEC_NAMESPACE_TYPES; k++)
        if (strcmp(namespace_types[k].name, type) == 0)
          break;
      if (k == SPEC_NAMESPACE_TYPES)
        die(EXIT_ENGINE, CONFIG ": %s: unsupported namespace type \"%s\"", path, type);
      spec->clone_flags |= namespace_types[k].flag;
      if (join)
        {
          if (join[0] != '/')
            die(EXIT_ENGINE, CONFIG ": %s.path must be an absolute path, not \"%s\"", path, join);
          spec->join_flags |= namespace_types[k].flag;
          spec->join_paths[k] = join;
        }
    }
  /* Every mount below happens in the container's own mount namespace;
   * without one they would land on the caller's tree. */
  if (!(spec->clone_flags & CLONE_NEWNS))
    die(EXIT_ENGINE, CONFIG ": linux.namespaces must include a mount namespace");

  load_id_maps(&spec->uid_maps, linux_obj, "uidMappings");
  load_id_maps(&spec->gid_maps, linux_obj, "gidMappings");
  spec->masked_paths = get_path_list(linux_obj, "maskedPaths", "linux.maskedPaths", &spec->n_masked_paths);
  spec->readonly_paths = get_path_list(linux_obj, "readonlyPaths", "linux.readonlyPaths", &spec->n_readonly_paths);

  propagation = get_string(linux_obj, "rootfsPropagation", "linux.rootfsPropagation", false);
  if (propagation && !parse_propagation(propagation, &spec->rootfs_propagation))
    die(EXIT_ENGINE, CONFIG ": linux.rootfsPropagation: unknown propagation \"%s\"", propagation);
}

static void load_annotations(struct spec *spec, const struct json *root)
{
  struct json *a = get_field(root, "annotations", JSON_OBJECT, "annotations", false);
  const char *driver, *attachments;

  spec->overlay_lower = get_string(a, ANNOTATION_OVERLAY_LOWER, "annotations." ANNOTATION_OVERLAY_LOWER, false);
  spec->overlay_upper = get_string(a, ANNOTATION_OVERLAY_UPPER, "annotations." ANNOTATION_OVERLAY_UPPER, false);
  spec->overlay_work = get_string(a, ANNOTATION_OVERLAY_WORK, "annotations." ANNOTATION_OVERLAY_WORK, false);
  driver = get_string(a, ANNOTATION_OVERLAY_DRIVER, "annotations." ANNOTATION_OVERLAY_DRIVER, false);
  attachments = get_string(a, ANNOTATION_NETWORK_ATTACHMENTS, "annotations." ANNOTATION_NETWORK_ATTACHMENTS, false);
  if (attachments)
    net_attachments_parse(attachments, &spec->attachments);
  /* The interfaces are made in the container's own network namespace. */
  if (spec->attachments.len > 0 && (!(spec->clone_flags & CLONE_NEWNET) || (spec->join_flags & CLONE_NEWNET)))
    die(EXIT_ENGINE, CONFIG ": annotation " ANNOTATION_NETWORK_ATTACHMENTS " needs a new network namespace");

  if (!spec->overlay_lower && !spec->overlay_upper && !spec->overlay_work)
    {
      spec->overlay = OVERLAY_NONE;
      return;
    }
  if (!spec->overlay_lower || !spec->overlay_upper || !spec->overlay_work)
    die(EXIT_ENGINE, CONFIG ": the overlay annotations lowerdir, upperdir and workdir must be given together");
  if (driver == NULL || strcmp(driver, "auto") == 0)
    spec->overlay = OVERLAY_AUTO;
  else if (strcmp(driver, "native") == 0)
    spec->overlay = OVERLAY_NATIVE;
  else if (strcmp(driver, "fuse") == 0)
    spec->overlay = OVERLAY_FUSE;
  else
    die(EXIT_ENGINE, CONFIG ": annotation " ANNOTATION_OVERLAY_DRIVER " must be auto, native or fuse, not \"%s\"",
        driver);
}

struct spec *spec_load(const char *bundle)
{
  cleanup_free char *path = xasprintf("%s/" CONFIG, bundle);
  cleanup_free char *text = NULL;
  char err[256];
  size_t len;
  struct spec *spec;
  struct json *root, *root_obj;
  const char *root_path;

  text = read_file(path, &len);
  if (text == NULL)
    die_with_error(EXIT_ENGINE, "cannot read %s", path);
  root = json_parse(text, len, err, sizeof err);
  if (root == NULL)
    die(EXIT_ENGINE, CONFIG ": %s", err);
  if (root->type != JSON_OBJECT)
    die_type(root, "the document", "an object");

  spec = xcalloc(1, sizeof *spec);
  spec->document = root;

  get_string(root, "ociVersion", "ociVersion", true);
  load_process(spec, root);

  root_obj = get_field(root, "root", JSON_OBJECT, "root", true);
  root_path = get_string(root_obj, "path", "root.path", true);
  /* The runtime spec resolves a relative root.path against the bundle. */
  spec->root_path = root_path[0] == '/' ? xstrdup(root_path) : xasprintf("%s/%s", bundle, root_path);
  spec->root_readonly = get_bool(root_obj, "readonly", "root.readonly");
  spec->hostname = get_string(root, "hostname", "hostname", false);

  load_mounts(spec, root, bundle);
  load_linux(spec, root);
  load_annotations(spec, root);

  if (spec->hostname && !(spec->clone_flags & CLONE_NEWUTS))
    die(EXIT_ENGINE, CONFIG ": hostname needs a uts namespace");
  return spec;
}

void spec_free(struct spec *spec)
{
  if (spec == NULL)
    return;
  free(spec->args);
  free(spec->env);
  free(spec->additional_gids);
  free(spec->rlimits);
  free(spec->root_path);
  for (size_t i = 0; i < spec->n_mounts; i++)
    {
      free(spec->mounts[i].data);
      free(spec->mounts[i].source_storage);
    }
  free(spec->mounts);
  free(spec->uid_maps.entries);
  free(spec->gid_maps.entries);
  free(spec->masked_paths);
  free(spec->readonly_paths);
  net_attachments_free(&spec->attachments);
  json_free(spec->document);
  free(spec);
}

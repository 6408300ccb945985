/*
 * idmap.c: uid_map/gid_map for a new user namespace.
 *
 * An unprivileged process may write only one map line: its own id, after
 * denying setgroups. Anything wider (a container with uids 0-65535) goes
 * through the setuid helpers newuidmap/newgidmap, which check the ranges
 * granted to the user in /etc/subuid and /etc/subgid.
 */
#include "idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "util.h"

bool parse_id_map(const char *text, struct id_map *out)
{
  unsigned long long v[3];
  const char *p = text;

  for (int i = 0; i < 3; i++)
    {
      char *end;
      if (*p < '0' || *p > '9')
        return false;
      errno = 0;
      v[i] = strtoull(p, &end, 10);
      if (errno != 0 || v[i] > UINT32_MAX || *end != (i < 2 ? ':' : '\0'))
        return false;
      p = end + 1;
    }
  if (v[2] == 0)
    return false;
  out->container_id = (uint32_t) v[0];
  out->host_id = (uint32_t) v[1];
  out->size = (uint32_t) v[2];
  return true;
}

void append_id_map(struct id_maps *maps, struct id_map map)
{
  maps->entries = xrealloc(maps->entries, (maps->len + 1) * sizeof *maps->entries);
  maps->entries[maps->len++] = map;
}

void default_id_maps(struct id_maps *uid_maps, struct id_maps *gid_maps)
{
  if (uid_maps->len == 0)
    append_id_map(uid_maps, (struct id_map){ .container_id = 0, .host_id = geteuid(), .size = 1 });
  if (gid_maps->len == 0)
    append_id_map(gid_maps, (struct id_map){ .container_id = 0, .host_id = getegid(), .size = 1 });
}

static bool is_own_id_only(const struct id_maps *maps, uint32_t own)
{
  return maps->len == 1 && maps->entries[0].host_id == own && maps->entries[0].size == 1;
}

static char *format_map(const struct id_maps *maps)
{
  size_t len = 0;
  char *out = xmalloc(maps->len * 36 + 1);

  for (size_t i = 0; i < maps->len; i++)
    len += (size_t) sprintf(out + len, "%u %u %u\n", maps->entries[i].container_id, maps->entries[i].host_id,
                            maps->entries[i].size);
  out[len] = '\0';
  return out;
}

static void write_map_file(pid_t pid, const char *file, const char *content)
{
  char path[64];

  snprintf(path, sizeof path, "/proc/%d/%s", (int) pid, file);
  if (write_proc_file(path, content) < 0)
    die_with_error(EXIT_ENGINE, "cannot write %s", path);
}

/* A newuidmap or newgidmap run for a pid: started, then waited for. */
struct id_mapper
{
  const char *name;
  pid_t helper;
  int out_r; /* its stdout and stderr */
};

/* Starts newuidmap or newgidmap for pid; finish_id_mapper waits for it. */
static void start_id_mapper(const char *name, pid_t pid, const struct id_maps *maps, struct id_mapper *m)
{
  static const char *const fallback_dirs[] = { "/usr/bin", "/usr/sbin", NULL };
  cleanup_free char *program = find_program(name, getenv("PATH"), fallback_dirs);
  cleanup_free char **argv = NULL;
  cleanup_free char *numbers = NULL;
  int pipefd[2];
  size_t argc = 0, off = 0;
  pid_t helper;

  if (program == NULL)
    die(EXIT_ENGINE, "%s not found: install the uidmap package (it maps the container's ids through "
                     "/etc/subuid and /etc/subgid)", name);

  /* argv: name pid (c h n)*, the numbers packed into one buffer. */
  argv = xcalloc(2 + maps->len * 3 + 1, sizeof *argv);
  numbers = xmalloc(12 * (1 + maps->len * 3));
  argv[argc++] = (char *) name;
#define PUSH_NUMBER(n)                                                  \
  do                                                                    \
    {                                                                   \
      argv[argc++] = numbers + off;                                     \
      off += (size_t) sprintf(numbers + off, "%u", (unsigned) (n)) + 1; \
    }                                                                   \
  while (0)
  PUSH_NUMBER(pid);
  for (size_t i = 0; i < maps->len; i++)
    {
      PUSH_NUMBER(maps->entries[i].container_id);
      PUSH_NUMBER(maps->entries[i].host_id);
      PUSH_NUMBER(maps->entries[i].size);
    }
#undef PUSH_NUMBER
  argv[argc] = NULL;

  if (pipe2(pipefd, O_CLOEXEC) < 0)
    die_with_error(EXIT_ENGINE, "cannot create a pipe for %s", name);
  helper = fork();
  if (helper < 0)
    die_with_error(EXIT_ENGINE, "cannot fork %s", name);
  if (helper == 0)
    {
      dup2(pipefd[1], STDOUT_FILENO);
      dup2(pipefd[1], STDERR_FILENO);
      execv(program, argv);
      dprintf(STDERR_FILENO, "cannot execute %s: %s", program, strerror(errno));
      _exit(127);
    }
  close(pipefd[1]);
  m->name = name;
  m->helper = helper;
  m->out_r = pipefd[0];
}

/* Waits for a started mapper; its stderr becomes our message. */
static void finish_id_mapper(struct id_mapper *m)
{
  cleanup_free char *output = NULL;
  cleanup_fd int out_r = m->out_r;
  int status;

  while (waitpid(m->helper, &status, 0) < 0)
    if (errno != EINTR)
      die_with_error(EXIT_ENGINE, "cannot wait for %s", m->name);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return;

  output = read_child_output(out_r, 512);
  if (output[0])
    die(EXIT_ENGINE, "%s failed: %s", m->name, output);
  die(EXIT_ENGINE, "%s failed with status %d (is the range in /etc/sub%cid?)", m->name, wait_status_to_code(status),
      m->name[3]);
}

void write_id_maps(pid_t pid, const struct id_maps *uid_maps, const struct id_maps *gid_maps)
{
  bool privileged = geteuid() == 0;
  bool own_only = is_own_id_only(uid_maps, geteuid()) && is_own_id_only(gid_maps, getegid());

  if (privileged || own_only)
    {
      cleanup_free char *uid_text = format_map(uid_maps);
      cleanup_free char *gid_text = format_map(gid_maps);

      /* An unprivileged gid_map is only accepted once setgroups is denied
       * for good in the namespace: otherwise the process could drop a
       * supplementary group that a file's permissions deny (a "negative"
       * group ACL) and gain access through it. */
      if (!privileged)
        write_map_file(pid, "setgroups", "deny");
      write_map_file(pid, "uid_map", uid_text);
      write_map_file(pid, "gid_map", gid_text);
      return;
    }

  /* Side by side: each is a setuid program that takes a few milliseconds
   * to start, and the kernel takes the two maps in either order. */
  struct id_mapper uid_mapper, gid_mapper;
  start_id_mapper("newuidmap", pid, uid_maps, &uid_mapper);
  start_id_mapper("newgidmap", pid, gid_maps, &gid_mapper);
  finish_id_mapper(&uid_mapper);
  finish_id_mapper(&gid_mapper);
}

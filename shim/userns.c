/*
 * userns.c: `ctr-shim userns`, a command run as root of a new user
 * namespace with the container's id maps. ctr uses it to unpack layers
 * whose files belong to other users, and to delete trees holding them:
 * only inside such a namespace can an unprivileged user chown to, or
 * unlink as, those ids.
 *
 * The shim becomes the command (no monitor stays behind), so its exit
 * status and signals are the command's own. Its maps are written by a
 * helper forked beforehand: they must be written from the parent user
 * namespace, which we leave.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "container.h"
#include "idmap.h"
#include "shim.h"
#include "util.h"

/* The helper: waits until the shim has unshared, writes its maps, exits.
 * Failures go back to the shim as report lines. */
static NORETURN void run_map_helper(pid_t target, int go_fd, int report_fd, const struct id_maps *uid_maps,
                                    const struct id_maps *gid_maps)
{
  char go;
  ssize_t n;

  report_to(report_fd);
  do
    n = read(go_fd, &go, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1)
    _exit(EXIT_ENGINE);
  write_id_maps(target, uid_maps, gid_maps);
  _exit(0);
}

int cmd_userns(int argc, char **argv)
{
  struct id_maps uid_maps = { 0 }, gid_maps = { 0 };
  char **command = NULL;
  int go_pipe[2], report_pipe[2];
  char report[REPORT_MAX + 1];
  size_t report_len = 0;
  int status;
  pid_t helper, self = getpid();

  for (int i = 0; i < argc; i++)
    {
      const char *arg = argv[i], *value = NULL;
      struct id_maps *maps = NULL;
      struct id_map map;

      if (strcmp(arg, "--") == 0)
        {
          command = argv + i + 1;
          break;
        }
      if (strncmp(arg, "--uid-map", 9) == 0)
        maps = &uid_maps;
      else if (strncmp(arg, "--gid-map", 9) == 0)
        maps = &gid_maps;
      else
        die(EXIT_ENGINE, "userns: unknown argument \"%s\"", arg);
      if (arg[9] == '=')
        value = arg + 10;
      else if (arg[9] == '\0' && i + 1 < argc)
        value = argv[++i];
      else if (arg[9] != '\0')
        die(EXIT_ENGINE, "userns: unknown argument \"%s\"", arg);
      if (value == NULL)
        die(EXIT_ENGINE, "userns: %s needs a value", arg);
      if (!parse_id_map(value, &map))
        die(EXIT_ENGINE, "userns: %.9s: \"%s\" is not CONTAINER:HOST:COUNT", arg, value);
      append_id_map(maps, map);
    }
  if (command == NULL || command[0] == NULL)
    die(EXIT_ENGINE, "userns: no command given (usage: ctr-shim userns --uid-map C:H:N --gid-map C:H:N -- CMD)");
  if (uid_maps.len == 0 || gid_maps.len == 0)
    die(EXIT_ENGINE, "userns: at least one --uid-map and one --gid-map are required");

  if (pipe2(go_pipe, O_CLOEXEC) < 0 || pipe2(report_pipe, O_CLOEXEC) < 0)
    die_with_error(EXIT_ENGINE, "cannot create pipes");
  helper = fork();
  if (helper < 0)
    die_with_error(EXIT_ENGINE, "cannot fork");
  if (helper == 0)
    {
      close(go_pipe[1]);
      close(report_pipe[0]);
      run_map_helper(self, go_pipe[0], report_pipe[1], &uid_maps, &gid_maps);
    }
  close(go_pipe[0]);
  close(report_pipe[1]);

  /* A mount namespace too: the command may mount (tmpfs, binds) as root
   * of its user namespace, and that must stay private to it. */
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
    die_with_error(EXIT_ENGINE, "cannot create a user namespace");
  if (write_all(go_pipe[1], "1", 1) < 0)
    die_with_error(EXIT_ENGINE, "cannot reach the id map helper");
  close(go_pipe[1]);

  for (;;)
    {
      ssize_t n = read(report_pipe[0], report + report_len, sizeof report - 1 - report_len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      report_len += (size_t) n;
      if (report_len == sizeof report - 1)
        break;
    }
  report[report_len] = '\0';
  close(report_pipe[0]);
  while (waitpid(helper, &status, 0) < 0)
    if (errno != EINTR)
      die_with_error(EXIT_ENGINE, "cannot wait for the id map helper");
  if (report_len > 0)
    {
      char *nl = strchr(report, '\n');
      if (nl)
        *nl = '\0';
      forward_report_line(report);
    }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    die(EXIT_ENGINE, "the id map helper failed with status %d", wait_status_to_code(status));

  /* Root of the namespace: the ids the command's files are created with,
   * and the one allowed to chown to every mapped id. */
  if (setresgid(0, 0, 0) < 0)
    die_with_error(EXIT_ENGINE, "cannot become gid 0 in the user namespace (is gid 0 mapped?)");
  if (setresuid(0, 0, 0) < 0)
    die_with_error(EXIT_ENGINE, "cannot become uid 0 in the user namespace (is uid 0 mapped?)");
  /* Drop the caller's supplementary groups (unmapped, shown as the
   * overflow gid). Denied with a single-id map, where it does not matter. */
  if (setgroups(0, NULL) < 0 && errno != EPERM)
    die_with_error(EXIT_ENGINE, "cannot drop supplementary groups");

  {
    extern char **environ;
    exec_command(command, environ, getenv("PATH"));
  }
}

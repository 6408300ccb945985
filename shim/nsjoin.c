/*
 * nsjoin.c: the container's init for a config that joins namespaces (see
 * nsjoin.h).
 *
 * The monitor must stay in the caller's namespaces (it writes id maps,
 * runs slirp4netns and outlives the container), so the joining happens in
 * a short-lived child. The namespaces to create must be created by a
 * process already in the joined user namespace, so that it owns them:
 * that child clones the init with them, and CLONE_PARENT makes the init
 * the monitor's child, which reaps it as usual.
 */
#include "nsjoin.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

pid_t clone_joining(const struct spec *spec, int report_fd)
{
  int fds[SPEC_NAMESPACE_TYPES];
  int pid_pipe[2];
  pid_t joiner, init = -1;
  ssize_t n;

  /* Opened here, so a holder that is gone is reported as such, before
   * anything is forked. */
  for (size_t k = 0; k < SPEC_NAMESPACE_TYPES; k++)
    {
      fds[k] = -1;
      if (spec->join_paths[k] == NULL)
        continue;
      fds[k] = open(spec->join_paths[k], O_RDONLY | O_CLOEXEC);
      if (fds[k] < 0)
        die_with_error(EXIT_ENGINE, "cannot open the %s namespace %s to join", namespace_types[k].name,
                       spec->join_paths[k]);
    }
  if (pipe2(pid_pipe, O_CLOEXEC) < 0)
    die_with_error(EXIT_ENGINE, "cannot create a pipe");
  joiner = fork();
  if (joiner < 0)
    die_with_error(EXIT_ENGINE, "cannot fork");
  if (joiner == 0)
    {
      pid_t child;

      /* Failures go to the container's report pipe; the monitor's die
       * hook is not ours to run. */
      report_to(report_fd);
      report_on_die(NULL);
      close(pid_pipe[0]);
      for (size_t k = 0; k < SPEC_NAMESPACE_TYPES; k++)
        {
          if (fds[k] < 0)
            continue;
          if (setns(fds[k], namespace_types[k].flag) < 0)
            die_with_error(EXIT_ENGINE, "cannot join the %s namespace %s", namespace_types[k].name,
                           spec->join_paths[k]);
          close(fds[k]);
        }
      child = (pid_t) syscall(SYS_clone, (unsigned long) (CLONE_PARENT | SIGCHLD | (spec->clone_flags & ~spec->join_flags)),
                              NULL, NULL, NULL, NULL);
      if (child < 0)
        die_with_error(EXIT_ENGINE, "cannot create the container's namespaces");
      if (child == 0)
        {
          close(pid_pipe[1]);
          return 0;
        }
      if (write_all(pid_pipe[1], &child, sizeof child) < 0)
        {
          kill(child, SIGKILL);
          _exit(EXIT_ENGINE);
        }
      _exit(0);
    }
  for (size_t k = 0; k < SPEC_NAMESPACE_TYPES; k++)
    if (fds[k] >= 0)
      close(fds[k]);
  close(pid_pipe[1]);
  do
    n = read(pid_pipe[0], &init, sizeof init);
  while (n < 0 && errno == EINTR);
  close(pid_pipe[0]);
  while (waitpid(joiner, NULL, 0) < 0 && errno == EINTR)
    ;
  return n == (ssize_t) sizeof init ? init : -1;
}

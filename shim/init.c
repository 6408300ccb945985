/*
 * init.c: `ctr-shim init -- CMD [ARG…]`, the container's pid 1 for
 * `--init` (docker's tini, podman's catatonit). ctr bind-mounts the shim
 * into the container and runs this in front of the command: it starts CMD,
 * passes on the signals a pid 1 would otherwise drop (the kernel delivers
 * a pid 1 only those it has a handler for), reaps every orphan that the
 * pid namespace hands it, and exits with CMD's status.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim.h"
#include "util.h"

int cmd_init(int argc, char **argv)
{
  sigset_t all, original;
  pid_t child;

  if (argc > 0 && strcmp(argv[0], "--") == 0)
    {
      argc--;
      argv++;
    }
  if (argc == 0)
    die(EXIT_ENGINE, "init: usage: ctr-shim init -- CMD [ARG...]");

  /* Everything waits for sigwait below; the child gets the mask back. */
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &original);
  child = fork();
  if (child < 0)
    die_with_error(EXIT_ENGINE, "init: cannot fork");
  if (child == 0)
    {
      sigprocmask(SIG_SETMASK, &original, NULL);
      /* Its own process group in the foreground of the terminal (if any),
       * so ^C typed there reaches it and its children. */
      setpgid(0, 0);
      if (isatty(STDIN_FILENO))
        {
          signal(SIGTTOU, SIG_IGN);
          tcsetpgrp(STDIN_FILENO, getpid());
          signal(SIGTTOU, SIG_DFL);
        }
      execvp(argv[0], argv);
      dprintf(STDERR_FILENO, "init: cannot run %s: %s\n", argv[0], strerror(errno));
      _exit(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
    }

  for (;;)
    {
      int sig = 0, status;
      pid_t done;

      sigwait(&all, &sig);
      if (sig != SIGCHLD)
        {
          /* To the whole group: a shell's children stop with it. */
          if (kill(-child, sig) < 0)
            kill(child, sig);
          continue;
        }
      while ((done = waitpid(-1, &status, WNOHANG)) > 0)
        if (done == child)
          return wait_status_to_code(status);
    }
}

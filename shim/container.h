/*
 * container.h: the container's init process, from clone() to execve().
 */
#pragma once

#include <signal.h>
#include <sys/ioctl.h>

#include "spec.h"
#include "util.h"

struct container_start
{
  const struct spec *spec;
  /* Read end; the monitor writes one byte once the id maps are in place,
   * or closes it to abort. */
  int start_fd;
  /* Write end, close-on-exec: `warning …` and `error <code> …` lines for
   * the monitor. EOF without an error line means execve() succeeded. */
  int report_fd;
  /* The signal mask the shim was started with, for the container. */
  sigset_t original_mask;
  /* process.terminal: socket to pass the pty master to the monitor, and
   * the caller's terminal size (rows 0 if unknown); -1 without a pty. */
  int console_fd;
  struct winsize console_size;
};

/* Runs in the new namespaces as their first process; never returns. */
NORETURN void container_main(const struct container_start *start);

/* Runs in a forked child of `ctr-shim exec`, already in the container's
 * namespaces and root: like container_main without creating anything. */
NORETURN void container_exec_main(const struct container_start *start);

/* The last steps of both a container's init and an exec'd process, once
 * in the container's namespaces and root: rlimits, working directory,
 * terminal, user, umask, no_new_privs, then exec of process.args. */
NORETURN void container_exec_process(const struct container_start *start);

/* Exec argv the way the container's process is exec'd: looked up in PATH
 * (from env, or the default) when it has no '/', exec errors mapped to
 * 127 (not found) and 126 (cannot execute) through die(). */
NORETURN void exec_command(char *const argv[], char *const envp[], const char *path);

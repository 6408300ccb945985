/*
 * container.h: the container's init process, from clone() to execve().
 */
#pragma once

#include <signal.h>

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
};

/* Runs in the new namespaces as their first process; never returns. */
NORETURN void container_main(const struct container_start *start);

/* Exec argv the way the container's process is exec'd: looked up in PATH
 * (from env, or the default) when it has no '/', exec errors mapped to
 * 127 (not found) and 126 (cannot execute) through die(). */
NORETURN void exec_command(char *const argv[], char *const envp[], const char *path);

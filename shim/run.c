/*
 * run.c: `ctr-shim run`, the container's monitor.
 *
 * The monitor stays in the caller's namespaces. It clones the container's
 * init into new ones, writes its id maps from outside (only a process in
 * the parent user namespace may), relays the init's setup report to ctr
 * over the sync fd, then forwards signals, reaps the init and records how
 * it ended in the state directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "container.h"
#include "idmap.h"
#include "shim.h"
#include "spec.h"
#include "util.h"

struct run_options
{
  const char *bundle;
  const char *state;
  const char *log;
  int sync_fd;
  bool detach;
};

/* Signals relayed to the container's init: what a terminal or a process
 * manager sends to stop, reload or resize the foreground job. */
static const int forwarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };

/* Read by the die hook. */
static pid_t container_pid = -1;
static int detach_status_fd = -1;

/* With --detach, the process ctr started waits for one byte: 0 when the
 * container runs, else the error's exit code. */
static void notify_detached_caller(int code)
{
  unsigned char byte = (unsigned char) code;

  if (detach_status_fd < 0)
    return;
  if (write(detach_status_fd, &byte, 1) < 0)
    {
      /* The caller is gone; nobody to tell. */
    }
  close(detach_status_fd);
  detach_status_fd = -1;
}

static void on_monitor_die(int code)
{
  /* A container whose setup failed half way must not linger. */
  if (container_pid > 0)
    {
      kill(container_pid, SIGKILL);
      while (waitpid(container_pid, NULL, 0) < 0 && errno == EINTR)
        ;
      container_pid = -1;
    }
  notify_detached_caller(code);
}

static const char *option_value(int argc, char **argv, int *i, const char *name, const char **error)
{
  size_t len = strlen(name);
  const char *arg = argv[*i];

  if (strncmp(arg, name, len) != 0)
    return NULL;
  if (arg[len] == '=')
    return arg + len + 1;
  if (arg[len] != '\0')
    return NULL;
  if (*i + 1 >= argc)
    {
      *error = name;
      return NULL;
    }
  return argv[++*i];
}

/* Parses argv; returns NULL or a message for the first problem. Parsing
 * goes on past it so that --sync-fd is known and the message reaches ctr. */
static char *parse_run_options(int argc, char **argv, struct run_options *o)
{
  char *problem = NULL;

  o->sync_fd = -1;
  for (int i = 0; i < argc; i++)
    {
      const char *missing = NULL;
      char *error = NULL;
      const char *v;

      if ((v = option_value(argc, argv, &i, "--bundle", &missing)))
        o->bundle = v;
      else if ((v = option_value(argc, argv, &i, "--state", &missing)))
        o->state = v;
      else if ((v = option_value(argc, argv, &i, "--log", &missing)))
        o->log = v;
      else if ((v = option_value(argc, argv, &i, "--sync-fd", &missing)))
        {
          char *end;
          long fd = strtol(v, &end, 10);
          if (*v == '\0' || *end != '\0' || fd < 0 || fd > INT_MAX)
            error = xasprintf("run: --sync-fd needs a file descriptor number, not \"%s\"", v);
          else
            o->sync_fd = (int) fd;
        }
      else if (strcmp(argv[i], "--detach") == 0)
        o->detach = true;
      else if (missing)
        error = xasprintf("run: %s needs a value", missing);
      else
        error = xasprintf("run: unknown argument \"%s\"", argv[i]);
      if (problem == NULL)
        problem = error;
      else
        free(error);
    }
  if (problem)
    return problem;
  if (o->bundle == NULL)
    return xasprintf("run: --bundle is required");
  if (o->state == NULL)
    return xasprintf("run: --state is required");
  return NULL;
}

static void write_state_file(int state_fd, const char *name, const char *content)
{
  if (write_file_atomic(state_fd, name, content) < 0)
    die_with_error(EXIT_ENGINE, "cannot write the state file %s", name);
}

/* --detach: leave the caller's process tree and session so that ctr can
 * exit while the container runs on. The process ctr started stays behind
 * only to exit with the setup's outcome. */
static void detach_from_caller(int log_fd)
{
  int status_pipe[2];
  int null_fd;
  pid_t pid;

  if (pipe2(status_pipe, O_CLOEXEC) < 0)
    die_with_error(EXIT_ENGINE, "cannot create a pipe");
  pid = fork();
  if (pid < 0)
    die_with_error(EXIT_ENGINE, "cannot fork");
  if (pid > 0)
    {
      unsigned char code;
      ssize_t n;

      close(status_pipe[1]);
      while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
      do
        n = read(status_pipe[0], &code, 1);
      while (n < 0 && errno == EINTR);
      /* EOF: the monitor died without a word (it reports its own
       * errors on the sync fd before writing the code). */
      _exit(n == 1 ? code : EXIT_ENGINE);
    }

  /* A session of our own: the caller's terminal hanging up (SIGHUP) or
   * its job control must not reach the monitor. */
  if (setsid() < 0)
    die_with_error(EXIT_ENGINE, "cannot create a session");
  pid = fork();
  if (pid < 0)
    die_with_error(EXIT_ENGINE, "cannot fork");
  if (pid > 0)
    _exit(0);
  /* The grandchild: not a session leader, so opening a terminal can never
   * make it our controlling one; orphaned, so ctr never has to reap us. */
  close(status_pipe[0]);
  detach_status_fd = status_pipe[1];

  /* The container inherits these: nothing to read, output to the log. */
  null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0)
    die_with_error(EXIT_ENGINE, "cannot open /dev/null");
  if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(log_fd >= 0 ? log_fd : null_fd, STDOUT_FILENO) < 0 ||
      dup2(log_fd >= 0 ? log_fd : null_fd, STDERR_FILENO) < 0)
    die_with_error(EXIT_ENGINE, "cannot redirect the container's stdio");
  close(null_fd);
  if (log_fd >= 0)
    close(log_fd);
  /* Do not pin the caller's working directory's filesystem. */
  if (chdir("/") < 0)
    die_with_error(EXIT_ENGINE, "cannot enter /");
}

/* Relay the init's setup report; returns once it has exec'd (EOF). An
 * error line ends the monitor with the init's code and text. */
static void relay_setup_report(int report_fd)
{
  char buf[REPORT_MAX * 2 + 2];
  size_t len = 0;

  for (;;)
    {
      ssize_t n = read(report_fd, buf + len, sizeof buf - 1 - len);
      char *line, *nl;

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        die_with_error(EXIT_ENGINE, "cannot read the container's setup report");
      if (n == 0)
        {
          if (len > 0)
            {
              buf[len] = '\0';
              forward_report_line(buf);
            }
          return;
        }
      len += (size_t) n;
      buf[len] = '\0';
      line = buf;
      while ((nl = strchr(line, '\n')))
        {
          *nl = '\0';
          forward_report_line(line);
          line = nl + 1;
        }
      len -= (size_t) (line - buf);
      memmove(buf, line, len);
      if (len == sizeof buf - 1)
        {
          /* An overlong line: pass on what we have. */
          buf[len] = '\0';
          forward_report_line(buf);
          len = 0;
        }
    }
}

/* Forward signals and reap children until the init ends; its wait status. */
static int monitor_container(pid_t pid, const sigset_t *signals)
{
  int sfd = signalfd(-1, signals, SFD_CLOEXEC);

  if (sfd < 0)
    die_with_error(EXIT_ENGINE, "cannot create a signalfd");
  for (;;)
    {
      struct signalfd_siginfo si;
      ssize_t n = read(sfd, &si, sizeof si);

      if (n < 0 && errno == EINTR)
        continue;
      if (n != (ssize_t) sizeof si)
        die_with_error(EXIT_ENGINE, "cannot read the signalfd");
      if (si.ssi_signo != SIGCHLD)
        {
          kill(pid, (int) si.ssi_signo);
          continue;
        }
      /* SIGCHLDs coalesce: reap everything that has ended. */
      for (;;)
        {
          int status;
          pid_t done = waitpid(-1, &status, WNOHANG);
          if (done <= 0)
            break;
          if (done == pid)
            {
              close(sfd);
              return status;
            }
        }
    }
}

static long long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cmd_run(int argc, char **argv)
{
  struct run_options o = { 0 };
  cleanup_free char *usage_error = parse_run_options(argc, argv, &o);
  cleanup_free char *bundle = NULL;
  struct container_start start = { 0 };
  struct spec *spec;
  sigset_t signals;
  int state_fd, log_fd = -1;
  int start_pipe[2], report_pipe[2];
  int status, code;
  char text[96];
  pid_t pid;

  if (o.sync_fd >= 0)
    {
      if (fcntl(o.sync_fd, F_SETFD, FD_CLOEXEC) < 0)
        die_with_error(EXIT_ENGINE, "--sync-fd %d", o.sync_fd);
      report_to(o.sync_fd);
      report_line("hello %d", SHIM_PROTOCOL_VERSION);
    }
  if (usage_error)
    die(EXIT_ENGINE, "%s", usage_error);
  report_on_die(on_monitor_die);

  /* ctr may be gone when we report the exit (detached run): a write to a
   * closed socket must fail with EPIPE, not kill the monitor. */
  signal(SIGPIPE, SIG_IGN);
  /* A caller that ignores SIGCHLD would have the kernel reap our children
   * before we can learn their status. */
  signal(SIGCHLD, SIG_DFL);

  bundle = realpath(o.bundle, NULL);
  if (bundle == NULL)
    die_with_error(EXIT_ENGINE, "bundle %s", o.bundle);
  state_fd = open(o.state, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (state_fd < 0)
    die_with_error(EXIT_ENGINE, "state directory %s", o.state);
  spec = spec_load(bundle);
  if (spec->clone_flags & CLONE_NEWUSER)
    default_id_maps(&spec->uid_maps, &spec->gid_maps);

  if (o.detach)
    {
      if (o.log)
        {
          log_fd = open(o.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
          if (log_fd < 0)
            die_with_error(EXIT_ENGINE, "cannot open the log file %s", o.log);
        }
      detach_from_caller(log_fd);
    }

  snprintf(text, sizeof text, "%d\n", (int) getpid());
  write_state_file(state_fd, "shim.pid", text);

  /* Blocked from before the clone, so that no signal for the container
   * and no SIGCHLD is lost: they wait for the signalfd. The container
   * restores the original mask. */
  sigemptyset(&signals);
  sigaddset(&signals, SIGCHLD);
  for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
    sigaddset(&signals, forwarded_signals[i]);
  if (sigprocmask(SIG_BLOCK, &signals, &start.original_mask) < 0)
    die_with_error(EXIT_ENGINE, "cannot block signals");

  if (pipe2(start_pipe, O_CLOEXEC) < 0 || pipe2(report_pipe, O_CLOEXEC) < 0)
    die_with_error(EXIT_ENGINE, "cannot create pipes");

  /* All namespaces at once, user namespace first (the kernel creates it
   * before the others, so it owns them): the child is root over its
   * mounts, network and hostname, and pid 1 of its pid namespace. A raw
   * clone, used like fork(), as libc has no fork with flags. */
  pid = (pid_t) syscall(SYS_clone, (unsigned long) (SIGCHLD | spec->clone_flags), NULL, NULL, NULL, NULL);
  if (pid < 0)
    {
      if (errno == EPERM || errno == ENOSPC || errno == EINVAL)
        die_with_error(EXIT_ENGINE, "cannot create the container's namespaces (are unprivileged user namespaces "
                                    "enabled? see /proc/sys/user/max_user_namespaces)");
      die_with_error(EXIT_ENGINE, "cannot create the container's namespaces");
    }
  if (pid == 0)
    {
      close(start_pipe[1]);
      close(report_pipe[0]);
      close(state_fd);
      start.spec = spec;
      start.start_fd = start_pipe[0];
      start.report_fd = report_pipe[1];
      container_main(&start);
    }
  container_pid = pid;
  close(start_pipe[0]);
  close(report_pipe[1]);

  if (spec->clone_flags & CLONE_NEWUSER)
    write_id_maps(pid, &spec->uid_maps, &spec->gid_maps);
  if (write_all(start_pipe[1], "1", 1) < 0)
    die_with_error(EXIT_ENGINE, "cannot start the container");
  close(start_pipe[1]);

  relay_setup_report(report_pipe[0]);
  close(report_pipe[0]);

  snprintf(text, sizeof text, "%d\n", (int) pid);
  write_state_file(state_fd, "pid", text);
  report_line("ready %d", (int) pid);
  notify_detached_caller(0);
  /* The monitor may live as long as the container: keep it small. */
  spec_free(spec);

  status = monitor_container(pid, &signals);
  container_pid = -1;
  code = wait_status_to_code(status);
  snprintf(text, sizeof text, "exitCode=%d\nsignal=%d\nfinishedAt=%lld\n", code,
           WIFSIGNALED(status) ? WTERMSIG(status) : 0, now_ms());
  /* The container's status is ours to return even if the disk is full. */
  if (write_file_atomic(state_fd, "exit", text) < 0)
    warn("cannot write the state file exit: %s", strerror(errno));
  report_line("exit %d", code);
  return code;
}

/*
 * run.c: `ctr-shim run`, the container's monitor, and `ctr-shim exec`,
 * which monitors a process joined to a running container the same way.
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
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "container.h"
#include "idmap.h"
#include "nethelper.h"
#include "nsjoin.h"
#include "attach.h"
#include "log.h"
#include "terminal.h"
#include "shim.h"
#include "spec.h"
#include "util.h"

enum restart_policy
{
  RESTART_NO,
  RESTART_ON_FAILURE,
  RESTART_ALWAYS, /* also unless-stopped: the monitor only sees `stopped` */
};

struct run_options
{
  const char *bundle;
  const char *state;
  const char *log;
  int sync_fd;
  bool detach;
  enum restart_policy restart;
  long max_restarts; /* on-failure:N; 0 means no limit */
  bool interactive; /* --stdin: a detached container's stdin stays open for attach */
  bool wait_attach; /* --wait-attach: hold the output until a first client attaches */
  const char *exit_command;
  const char **exit_args; /* NULL-terminated, argv[0] included */
  bool exit_by_caller; /* --exit-command-by-caller: an attached ctr does its work itself */
  size_t n_exit_args;
  struct net_helper net; /* --net-helper: slirp4netns for the container's network namespace */
};

/* The first restart waits this long; each next one twice as long, up to
 * the cap, as docker backs off a container that keeps failing. */
#define RESTART_DELAY_MS 100
#define RESTART_DELAY_MAX_MS 10000

/* How long --wait-attach waits for ctr to connect before going on alone
 * (ctr may have been killed in between). */
#define ATTACH_WAIT_MS 10000

/* Signals relayed to the container's init: what a terminal or a process
 * manager sends to stop, reload or resize the foreground job. */
static const int forwarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };

/* Blocks SIGCHLD and the forwarded signals (they are read from a
 * signalfd of `signals`); `original` gets the mask to restore for the
 * container's process. */
static void block_monitor_signals(sigset_t *signals, sigset_t *original)
{
  sigemptyset(signals);
  sigaddset(signals, SIGCHLD);
  for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
    sigaddset(signals, forwarded_signals[i]);
  if (sigprocmask(SIG_BLOCK, signals, original) < 0)
    die_with_error(EXIT_ENGINE, "cannot block signals");
}

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
  terminal_restore();
  /* A container whose setup failed half way must not linger. */
  if (container_pid > 0)
    {
      kill(container_pid, SIGKILL);
      while (waitpid(container_pid, NULL, 0) < 0 && errno == EINTR)
        ;
      container_pid = -1;
    }
  /* Published ports of a network's slirp4netns are not the container's
   * to keep once it is gone. */
  net_helper_cleanup();
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
static char *parse_restart(const char *v, struct run_options *o)
{
  char *end;

  if (strcmp(v, "no") == 0)
    o->restart = RESTART_NO;
  else if (strcmp(v, "always") == 0 || strcmp(v, "unless-stopped") == 0)
    o->restart = RESTART_ALWAYS;
  else if (strcmp(v, "on-failure") == 0)
    o->restart = RESTART_ON_FAILURE;
  else if (strncmp(v, "on-failure:", 11) == 0 && (o->max_restarts = strtol(v + 11, &end, 10)) >= 0 && *end == '\0' &&
           v[11] != '\0')
    o->restart = RESTART_ON_FAILURE;
  else
    return xasprintf("run: --restart needs no, always, unless-stopped or on-failure[:N], not \"%s\"", v);
  return NULL;
}

static char *parse_run_options(int argc, char **argv, struct run_options *o)
{
  char *problem = NULL;

  o->sync_fd = -1;
  o->exit_args = xcalloc((size_t) argc + 2, sizeof *o->exit_args);
  o->net.args = xcalloc((size_t) argc + 6, sizeof *o->net.args);
  o->net.requests = xcalloc((size_t) argc + 1, sizeof *o->net.requests);
  o->net.exit_fd = -1;
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
      else if ((v = option_value(argc, argv, &i, "--restart", &missing)))
        error = parse_restart(v, o);
      else if ((v = option_value(argc, argv, &i, "--exit-command-arg", &missing)))
        o->exit_args[1 + o->n_exit_args++] = v;
      else if ((v = option_value(argc, argv, &i, "--exit-command", &missing)))
        o->exit_command = v;
      else if ((v = option_value(argc, argv, &i, "--net-api-socket", &missing)))
        o->net.api_socket = v;
      else if ((v = option_value(argc, argv, &i, "--net-helper-request", &missing)))
        o->net.requests[o->net.n_requests++] = v;
      else if ((v = option_value(argc, argv, &i, "--net-helper-arg", &missing)))
        o->net.args[1 + o->net.n_args++] = v;
      else if ((v = option_value(argc, argv, &i, "--net-helper", &missing)))
        o->net.path = v;
      else if (strcmp(argv[i], "--detach") == 0)
        o->detach = true;
      else if (strcmp(argv[i], "--stdin") == 0)
        o->interactive = true;
      else if (strcmp(argv[i], "--wait-attach") == 0)
        o->wait_attach = true;
      else if (strcmp(argv[i], "--exit-command-by-caller") == 0)
        o->exit_by_caller = true;
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
static void detach_from_caller(void)
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

  /* The caller's stdio may be a terminal or pipes it waits on to close:
   * hold none of them. The container's output goes through our pipes to
   * the log file (--log), else nowhere. */
  null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0)
    die_with_error(EXIT_ENGINE, "cannot open /dev/null");
  if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(null_fd, STDOUT_FILENO) < 0 || dup2(null_fd, STDERR_FILENO) < 0)
    die_with_error(EXIT_ENGINE, "cannot redirect the monitor's stdio");
  close(null_fd);
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

/* The container's stdout and stderr, when the monitor holds them (--log);
 * with a terminal, streams[0] is the pty master and streams[1] unused. */
static struct log_stream streams[2] = {
  { .name = "stdout", .fd = -1, .copy_fd = -1 },
  { .name = "stderr", .fd = -1, .copy_fd = -1 },
};
/* The pty master (-1 without a terminal) and the caller's input we copy
 * into it (-1 once at EOF, or when nobody attached gives any). */
static int master_fd = -1;
static int input_fd = -1;
/* Write end of a detached interactive container's stdin (attach input). */
static int stdin_pipe = -1;
/* Attached: ctr's end of the sync socket. EOF on it means ctr is gone
 * (killed): the container runs on as if detached. */
static int caller_fd = -1;

static void on_caller_gone(void)
{
  char byte;
  ssize_t n = recv(caller_fd, &byte, 1, MSG_DONTWAIT);
  int null_fd;

  if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
    return;
  caller_fd = -1;
  /* Give the terminal back as it was and stop using it: it belongs to
   * whoever runs in it next. */
  terminal_restore();
  input_fd = -1;
  for (int i = 0; i < 2; i++)
    streams[i].copy_fd = -1;
  null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd >= 0)
    {
      dup2(null_fd, STDIN_FILENO);
      dup2(null_fd, STDOUT_FILENO);
      dup2(null_fd, STDERR_FILENO);
      close(null_fd);
    }
}

static void tap_to_attach(const struct log_stream *s, const char *data, size_t len)
{
  attach_send(s == &streams[1] ? 2 : 1, data, len);
}

static void copy_input(void)
{
  char buf[4096];
  ssize_t n = read(input_fd, buf, sizeof buf);

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0 || master_fd < 0 || write_all(master_fd, buf, (size_t) n) < 0)
    input_fd = -1;
}

/* The caller's window changed (SIGWINCH): the container's terminal
 * follows, and the kernel tells its foreground job. */
static void copy_window_size(void)
{
  struct winsize size;

  if (terminal_get_size(STDIN_FILENO, &size) || terminal_get_size(STDOUT_FILENO, &size))
    ioctl(master_fd, TIOCSWINSZ, &size);
}

/* Forward signals, copy output and reap children until the init ends; its
 * wait status. Output still in the pipes once it has ended is drained: the
 * kernel kills the rest of a pid namespace before its init can be reaped,
 * so nothing writes any more. */
static int monitor_container(pid_t pid, const sigset_t *signals)
{
  cleanup_fd int sfd = signalfd(-1, signals, SFD_CLOEXEC);

  if (sfd < 0)
    die_with_error(EXIT_ENGINE, "cannot create a signalfd");
  for (;;)
    {
      struct pollfd fds[5 + 1 + ATTACH_MAX_CLIENTS] = { { .fd = sfd, .events = POLLIN },
                                                        { .fd = streams[0].fd, .events = POLLIN },
                                                        { .fd = streams[1].fd, .events = POLLIN },
                                                        { .fd = input_fd, .events = POLLIN },
                                                        { .fd = caller_fd, .events = POLLIN } };
      size_t n_attach = attach_poll_fds(fds + 5);
      struct signalfd_siginfo si;
      ssize_t n;

      if (poll(fds, 5 + n_attach, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          die_with_error(EXIT_ENGINE, "cannot poll");
        }
      for (int i = 0; i < 2; i++)
        if (fds[i + 1].revents)
          log_pump(&streams[i]);
      if (fds[3].revents && input_fd >= 0)
        copy_input();
      if (fds[4].revents && caller_fd >= 0)
        on_caller_gone();
      attach_handle(fds + 5, n_attach);
      if (!fds[0].revents)
        continue;
      n = read(sfd, &si, sizeof si);
      if (n < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (n != (ssize_t) sizeof si)
        die_with_error(EXIT_ENGINE, "cannot read the signalfd");
      if (si.ssi_signo == SIGWINCH && master_fd >= 0)
        {
          copy_window_size();
          continue;
        }
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
              for (int i = 0; i < 2; i++)
                log_pump(&streams[i]);
              attach_set_targets(-1, -1);
              if (stdin_pipe >= 0)
                close(stdin_pipe);
              stdin_pipe = -1;
              master_fd = -1;
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

/* Pipes for the container's stdout and stderr: their write ends in
 * child_fds (for the container), read ends in streams[]. */
static void open_output_pipes(int child_fds[2], bool attached)
{
  for (int i = 0; i < 2; i++)
    {
      int p[2];
      if (pipe2(p, O_CLOEXEC) < 0)
        die_with_error(EXIT_ENGINE, "cannot create a pipe for the container's %s", streams[i].name);
      if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0)
        die_with_error(EXIT_ENGINE, "cannot make the %s pipe non-blocking", streams[i].name);
      streams[i].fd = p[0];
      streams[i].len = 0;
      streams[i].copy_fd = attached ? STDOUT_FILENO + i : -1;
      child_fds[i] = p[1];
    }
}

/* The container's stdio, decided before the clone: a terminal (a socket
 * for its master), the monitor's pipes (--log), or the monitor's own
 * stdio. */
struct child_io
{
  int output[2];  /* write ends of the pipes, for the container */
  int console[2]; /* [0] ours, [1] the container's */
  int input;      /* read end of the stdin pipe, for the container */
};

static void prepare_child_io(struct child_io *io, struct container_start *start, bool terminal, bool logged, bool attached,
                             bool open_stdin)
{
  io->output[0] = io->output[1] = io->console[0] = io->console[1] = io->input = -1;
  if (open_stdin && !terminal)
    {
      int p[2];
      if (pipe2(p, O_CLOEXEC) < 0)
        die_with_error(EXIT_ENGINE, "cannot create a pipe for the container's stdin");
      io->input = p[0];
      stdin_pipe = p[1];
    }
  start->console_fd = -1;
  memset(&start->console_size, 0, sizeof start->console_size);
  if (terminal)
    {
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, io->console) < 0)
        die_with_error(EXIT_ENGINE, "cannot create the terminal socket");
      start->console_fd = io->console[1];
      if (attached && !terminal_get_size(STDIN_FILENO, &start->console_size))
        terminal_get_size(STDOUT_FILENO, &start->console_size);
    }
  else if (logged)
    open_output_pipes(io->output, attached);
}

/* In the child: stdio for the container (dup2 clears close-on-exec on the
 * copies). */
static void child_take_io(const struct child_io *io)
{
  for (int i = 0; i < 2; i++)
    if (io->output[i] >= 0 && dup2(io->output[i], STDOUT_FILENO + i) < 0)
      _exit(EXIT_ENGINE);
  if (io->input >= 0 && dup2(io->input, STDIN_FILENO) < 0)
    _exit(EXIT_ENGINE);
  if (io->console[0] >= 0)
    close(io->console[0]);
}

/* In the monitor, once the child has exec'd: close its ends, take the
 * terminal's master. */
static void monitor_take_io(struct child_io *io, bool attached, bool forward_input)
{
  for (int i = 0; i < 2; i++)
    if (io->output[i] >= 0)
      close(io->output[i]);
  if (io->input >= 0)
    close(io->input);
  attach_set_targets(stdin_pipe, -1);
  if (io->console[0] < 0)
    return;
  close(io->console[1]);
  master_fd = terminal_receive_master(io->console[0]);
  close(io->console[0]);
  if (master_fd < 0)
    die_with_error(EXIT_ENGINE, "cannot receive the container's terminal");
  if (fcntl(master_fd, F_SETFL, O_NONBLOCK) < 0)
    die_with_error(EXIT_ENGINE, "cannot make the terminal non-blocking");
  streams[0].fd = master_fd;
  streams[0].len = 0;
  streams[0].copy_fd = attached ? STDOUT_FILENO : -1;
  streams[1].fd = -1;
  attach_set_targets(master_fd, master_fd);
  if (forward_input)
    {
      input_fd = STDIN_FILENO;
      terminal_make_raw(STDIN_FILENO);
    }
}

/* Clones the container's init into its namespaces, writes its id maps and
 * waits until it has exec'd (or dies with its error). Returns its pid. */
static pid_t start_container(struct spec *spec, struct container_start *start, struct run_options *o, int state_fd)
{
  int start_pipe[2], report_pipe[2];
  struct child_io io;
  pid_t pid;

  if (pipe2(start_pipe, O_CLOEXEC) < 0 || pipe2(report_pipe, O_CLOEXEC) < 0)
    die_with_error(EXIT_ENGINE, "cannot create pipes");
  prepare_child_io(&io, start, spec->terminal, o->log != NULL, !o->detach, o->detach && o->interactive);

  /* All namespaces at once, user namespace first (the kernel creates it
   * before the others, so it owns them): the child is root over its
   * mounts, network and hostname, and pid 1 of its pid namespace. A raw
   * clone, used like fork(), as libc has no fork with flags. */
  if (spec->join_flags)
    {
      /* Namespaces given by path are joined by a child first. */
      pid = clone_joining(spec, report_pipe[1]);
      if (pid < 0)
        {
          close(report_pipe[1]);
          relay_setup_report(report_pipe[0]);
          die(EXIT_ENGINE, "cannot join the container's namespaces");
        }
    }
  else
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
      child_take_io(&io);
      start->spec = spec;
      start->start_fd = start_pipe[0];
      start->report_fd = report_pipe[1];
      container_main(start);
    }
  container_pid = pid;
  close(start_pipe[0]);
  close(report_pipe[1]);

  /* A joined user namespace has its maps already. */
  if (spec->clone_flags & ~spec->join_flags & CLONE_NEWUSER)
    write_id_maps(pid, &spec->uid_maps, &spec->gid_maps);
  /* The network is up before the container's process runs: its first
   * connection must not race the helper. The helper joins the user
   * namespace, so the maps come first. */
  net_helper_start(&o->net, pid, state_fd, &start->original_mask);
  if (write_all(start_pipe[1], "1", 1) < 0)
    die_with_error(EXIT_ENGINE, "cannot start the container");
  close(start_pipe[1]);

  relay_setup_report(report_pipe[0]);
  close(report_pipe[0]);
  monitor_take_io(&io, !o->detach, !o->detach);
  return pid;
}

static bool should_restart(const struct run_options *o, int state_fd, int code, long restarts)
{
  /* ctr writes `stopped` before it stops or kills the container: a
   * container the user stopped stays stopped, whatever its policy. */
  if (faccessat(state_fd, "stopped", F_OK, 0) == 0)
    return false;
  switch (o->restart)
    {
    case RESTART_ALWAYS:
      return true;
    case RESTART_ON_FAILURE:
      return code != 0 && (o->max_restarts == 0 || restarts < o->max_restarts);
    default:
      return false;
    }
}

static void sleep_ms(long ms)
{
  struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

/* The container has ended for good: run the exit command (ctr rm for
 * --rm) in our place, with nothing of the caller's stdio, so it works
 * after ctr has gone and adds no output to an attached run's. */
static void run_exit_command(const struct run_options *o)
{
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);

  if (null_fd >= 0)
    {
      dup2(null_fd, STDIN_FILENO);
      dup2(null_fd, STDOUT_FILENO);
      dup2(null_fd, STDERR_FILENO);
    }
  o->exit_args[0] = o->exit_command;
  execv(o->exit_command, (char *const *) o->exit_args);
  /* Nobody left to tell but ctr, if it still listens. */
  warn("cannot run the exit command %s: %s", o->exit_command, strerror(errno));
}

/* With --exit-command-by-caller, an attached ctr that got `exit` does the
 * exit command's work itself (it is running already: a second ctr would
 * cost a start of the compiled binary) and then writes `done`. True once
 * it has; false when the socket ends without it (ctr killed, or failed):
 * then the exit command is ours to run. */
static bool caller_did_exit_work(void)
{
  char buf[64];
  size_t len = 0;

  while (len < sizeof buf - 1)
    {
      struct pollfd pfd = { .fd = caller_fd, .events = POLLIN };
      ssize_t n = read(caller_fd, buf + len, sizeof buf - 1 - len);
      if (n < 0 && errno == EAGAIN && poll(&pfd, 1, -1) >= 0)
        continue;
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      len += (size_t) n;
      buf[len] = '\0';
      if (strchr(buf, '\n'))
        break;
    }
  buf[len] = '\0';
  return strcmp(buf, "done\n") == 0;
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
  int status = 0, code = 0;
  long delay = RESTART_DELAY_MS;
  char text[128];

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

  if (o.log)
    {
      log_fd = open(o.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
      if (log_fd < 0)
        die_with_error(EXIT_ENGINE, "cannot open the log file %s", o.log);
      log_set_file(log_fd);
    }
  if (o.detach)
    {
      detach_from_caller();
      /* ctr is gone: `ctr attach` reaches the container through us. */
      attach_listen(state_fd, "attach.sock");
      log_set_tap(tap_to_attach);
    }

  snprintf(text, sizeof text, "%d\n", (int) getpid());
  write_state_file(state_fd, "shim.pid", text);

  if (!o.detach)
    caller_fd = o.sync_fd;

  /* Blocked from before the clone, so that no signal for the container
   * and no SIGCHLD is lost: they wait for the signalfd. The container
   * restores the original mask. */
  block_monitor_signals(&signals, &start.original_mask);

  for (long restarts = 0;; restarts++)
    {
      pid_t pid;

      if (spec == NULL)
        spec = spec_load(bundle);
      if (spec->clone_flags & CLONE_NEWUSER)
        default_id_maps(&spec->uid_maps, &spec->gid_maps);
      pid = start_container(spec, &start, &o, state_fd);

      snprintf(text, sizeof text, "startedAt=%lld\nrestartCount=%ld\n", now_ms(), restarts);
      write_state_file(state_fd, "started", text);
      snprintf(text, sizeof text, "%d\n", (int) pid);
      write_state_file(state_fd, "pid", text);
      unlinkat(state_fd, "restarting", 0);
      if (restarts == 0)
        {
          report_line("ready %d", (int) pid);
          notify_detached_caller(0);
        }
      /* The monitor may live as long as the container: keep it small.
       * A restart reads config.json again. */
      spec_free(spec);
      spec = NULL;
      /* The container's output waits in its pipes or terminal meanwhile. */
      if (restarts == 0 && o.detach && o.wait_attach)
        attach_wait_first(ATTACH_WAIT_MS);

      status = monitor_container(pid, &signals);
      container_pid = -1;
      net_helper_stop(&o.net);
      code = wait_status_to_code(status);
      snprintf(text, sizeof text, "exitCode=%d\nsignal=%d\nfinishedAt=%lld\n", code,
               WIFSIGNALED(status) ? WTERMSIG(status) : 0, now_ms());
      /* The container's status is ours to return even if the disk is full. */
      if (write_file_atomic(state_fd, "exit", text) < 0)
        warn("cannot write the state file exit: %s", strerror(errno));
      attach_finish(code);
      if (!should_restart(&o, state_fd, code, restarts))
        break;
      /* Readers see "restarting", not "exited", until the next run is up. */
      write_state_file(state_fd, "restarting", "");
      sleep_ms(delay);
      delay = delay * 2 > RESTART_DELAY_MAX_MS ? RESTART_DELAY_MAX_MS : delay * 2;
      /* Stopped meanwhile: the wait counts as part of the run. */
      if (faccessat(state_fd, "stopped", F_OK, 0) == 0)
        {
          unlinkat(state_fd, "restarting", 0);
          break;
        }
      unlinkat(state_fd, "exit", 0);
    }
  terminal_restore();
  report_line("exit %d", code);
  if (o.exit_command && o.exit_by_caller && caller_fd >= 0 && caller_did_exit_work())
    return code;
  if (o.exit_command)
    run_exit_command(&o);
  return code;
}

/*
 * `ctr-shim exec`: runs process.args of DIR/config.json in the running
 * container whose init is PID, joining its namespaces, and monitors it as
 * `run` monitors an init: same sync lines, stdio, terminal and exit code.
 */

/* Namespaces in the order they are joined: the user namespace first, as it
 * owns the others and joining it gives us the capabilities the rest need. */
static const struct
{
  int flag;
  const char *name;
} exec_namespaces[] = {
  { CLONE_NEWUSER, "user" }, { CLONE_NEWNS, "mnt" }, { CLONE_NEWPID, "pid" }, { CLONE_NEWUTS, "uts" },
  { CLONE_NEWIPC, "ipc" },   { CLONE_NEWNET, "net" }, { CLONE_NEWCGROUP, "cgroup" },
};
#define N_EXEC_NAMESPACES (sizeof exec_namespaces / sizeof exec_namespaces[0])

int cmd_exec(int argc, char **argv)
{
  const char *bundle_arg = NULL, *pid_arg = NULL;
  cleanup_free char *problem = NULL;
  cleanup_free char *bundle = NULL;
  struct container_start start = { 0 };
  int ns_fds[N_EXEC_NAMESPACES];
  int report_pipe[2];
  struct child_io io;
  struct spec *spec;
  sigset_t signals;
  int sync_fd = -1, status, code;
  bool detach = false;
  long target;
  char *end;
  pid_t pid;

  for (int i = 0; i < argc; i++)
    {
      const char *missing = NULL, *v;
      if ((v = option_value(argc, argv, &i, "--bundle", &missing)))
        bundle_arg = v;
      else if ((v = option_value(argc, argv, &i, "--pid", &missing)))
        pid_arg = v;
      else if ((v = option_value(argc, argv, &i, "--sync-fd", &missing)))
        sync_fd = atoi(v);
      else if (strcmp(argv[i], "--detach") == 0)
        detach = true;
      else if (problem == NULL)
        problem = missing ? xasprintf("exec: %s needs a value", missing) : xasprintf("exec: unknown argument \"%s\"", argv[i]);
    }
  if (sync_fd >= 0)
    {
      if (fcntl(sync_fd, F_SETFD, FD_CLOEXEC) < 0)
        die_with_error(EXIT_ENGINE, "--sync-fd %d", sync_fd);
      report_to(sync_fd);
      report_line("hello %d", SHIM_PROTOCOL_VERSION);
    }
  if (problem)
    die(EXIT_ENGINE, "%s", problem);
  if (bundle_arg == NULL || pid_arg == NULL)
    die(EXIT_ENGINE, "exec: --bundle and --pid are required");
  target = strtol(pid_arg, &end, 10);
  if (*pid_arg == '\0' || *end != '\0' || target <= 0)
    die(EXIT_ENGINE, "exec: --pid needs a process id, not \"%s\"", pid_arg);
  report_on_die(on_monitor_die);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGCHLD, SIG_DFL);

  bundle = realpath(bundle_arg, NULL);
  if (bundle == NULL)
    die_with_error(EXIT_ENGINE, "bundle %s", bundle_arg);
  spec = spec_load(bundle);

  /* Opened before joining any: once in the container's mount namespace,
   * /proc is the container's. */
  for (size_t i = 0; i < N_EXEC_NAMESPACES; i++)
    {
      char path[64];
      ns_fds[i] = -1;
      if (!(spec->clone_flags & exec_namespaces[i].flag))
        continue;
      snprintf(path, sizeof path, "/proc/%ld/ns/%s", target, exec_namespaces[i].name);
      ns_fds[i] = open(path, O_RDONLY | O_CLOEXEC);
      if (ns_fds[i] < 0)
        die_with_error(EXIT_ENGINE, "cannot open %s (is the container running?)", path);
    }
  if (detach)
    detach_from_caller();
  else
    caller_fd = sync_fd;

  block_monitor_signals(&signals, &start.original_mask);

  for (size_t i = 0; i < N_EXEC_NAMESPACES; i++)
    {
      if (ns_fds[i] < 0)
        continue;
      if (setns(ns_fds[i], exec_namespaces[i].flag) < 0)
        die_with_error(EXIT_ENGINE, "cannot join the container's %s namespace", exec_namespaces[i].name);
      close(ns_fds[i]);
    }

  if (pipe2(report_pipe, O_CLOEXEC) < 0)
    die_with_error(EXIT_ENGINE, "cannot create a pipe");
  prepare_child_io(&io, &start, spec->terminal, false, !detach, false);
  /* A pid namespace joined with setns applies to children only. */
  pid = fork();
  if (pid < 0)
    die_with_error(EXIT_ENGINE, "cannot fork");
  if (pid == 0)
    {
      close(report_pipe[0]);
      child_take_io(&io);
      start.spec = spec;
      start.start_fd = -1;
      start.report_fd = report_pipe[1];
      container_exec_main(&start);
    }
  container_pid = pid;
  close(report_pipe[1]);
  relay_setup_report(report_pipe[0]);
  close(report_pipe[0]);
  monitor_take_io(&io, !detach, !detach);
  report_line("ready %d", (int) pid);
  notify_detached_caller(0);
  spec_free(spec);

  status = monitor_container(pid, &signals);
  container_pid = -1;
  code = wait_status_to_code(status);
  terminal_restore();
  report_line("exit %d", code);
  return code;
}
